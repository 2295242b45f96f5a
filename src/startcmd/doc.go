// Package startcmd parses a Cloud Foundry-style start command without a shell.
//
// UniK guests have no shell: the guest init runs exactly one program. A start command such as
//
//	JAVA_OPTS="-Xmx${MEM}" exec ./bin/app --port=$PORT
//
// is split the way a POSIX shell would split it (words, quotes, backslash escapes, $VAR and
// ${VAR} expansion, field splitting of unquoted variables, leading NAME=value assignments, a
// leading exec), and everything a shell would do that UniK cannot honour (pipes, lists,
// redirections, globs, command substitution, parameter operators, ...) is rejected with an
// *Error naming the feature and its byte offset.
//
// The package is imported both by the image builder on the host (to check the command and find
// the program at build time) and by the guest init (to run it), so it uses only the standard
// library and holds no state.
package startcmd
