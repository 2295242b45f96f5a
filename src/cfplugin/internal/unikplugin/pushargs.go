package unikplugin

import (
	"fmt"
	"slices"
	"strings"
)

// cf push (v7+) flags that take a value, by long name, and their short names.
// Knowing them lets the scan skip values ("-c '-s x'") instead of reading them as flags.
var (
	pushValueFlags = []string{
		"app-start-timeout", "buildpack", "disk", "docker-image", "docker-username", "droplet",
		"endpoint", "health-check-type", "instances", "instance-steps", "lifecycle",
		"log-rate-limit", "manifest", "max-in-flight", "memory", "path", "stack",
		"start-command", "strategy", "var", "vars-file",
	}
	pushShortToLong = map[byte]string{
		't': "app-start-timeout", 'b': "buildpack", 'k': "disk", 'o': "docker-image",
		'u': "health-check-type", 'i': "instances", 'l': "log-rate-limit", 'f': "manifest",
		'm': "memory", 'p': "path", 's': "stack", 'c': "start-command",
	}
)

// pushFlag is one flag occurrence on a cf push command line.
type pushFlag struct {
	long   string   // long name, "" for an unknown flag
	value  string   // its value, when it takes one
	tokens []string // the tokens as the user wrote them
}

// PushArgs turns `cf unik-push APP [flags...]` arguments into the arguments
// of `cf push`: the user's flags as given, except -s/--stack and -b/--buildpack,
// then "-s unik", each -b the user gave, and "-b unik_buildpack" last.
func PushArgs(argv []string) ([]string, error) {
	if len(argv) == 0 {
		return nil, &UsageError{CmdPush, "the required argument `APP_NAME` was not provided"}
	}
	if strings.HasPrefix(argv[0], "-") {
		return nil, &UsageError{CmdPush, "APP_NAME must come before the cf push flags"}
	}
	out := []string{"push", argv[0]}
	var buildpacks []string
	for i := 1; i < len(argv); {
		f, n, err := nextPushFlag(argv[i:])
		if err != nil {
			return nil, err
		}
		i += n
		keep, err := checkPushFlag(f)
		if err != nil {
			return nil, err
		}
		if f.long == "buildpack" && !slices.Contains(buildpacks, f.value) {
			buildpacks = append(buildpacks, f.value)
		}
		if keep {
			out = append(out, f.tokens...)
		}
	}
	out = append(out, "-s", UnikStack)
	for _, bp := range buildpacks {
		if bp != UnikBuildpack {
			out = append(out, "-b", bp)
		}
	}
	return append(out, "-b", UnikBuildpack), nil
}

// nextPushFlag reads one flag (and its value) or one plain argument from argv.
func nextPushFlag(argv []string) (pushFlag, int, error) {
	tok := argv[0]
	if tok == "--" || !strings.HasPrefix(tok, "-") || tok == "-" {
		return pushFlag{tokens: argv[:1]}, 1, nil
	}
	var long, val string
	var hasVal bool
	if strings.HasPrefix(tok, "--") {
		long, val, hasVal = strings.Cut(tok[2:], "=")
	} else {
		l, ok := pushShortToLong[tok[1]]
		if !ok {
			return pushFlag{tokens: argv[:1]}, 1, nil // short boolean or unknown: pass on
		}
		long = l
		if rest := tok[2:]; rest != "" {
			val, hasVal = strings.TrimPrefix(rest, "="), true
		}
	}
	if !slices.Contains(pushValueFlags, long) {
		return pushFlag{long: long, tokens: argv[:1]}, 1, nil
	}
	if hasVal {
		return pushFlag{long: long, value: val, tokens: argv[:1]}, 1, nil
	}
	if len(argv) < 2 {
		return pushFlag{}, 0, &UsageError{CmdPush, fmt.Sprintf("flag %s needs a value", tok)}
	}
	return pushFlag{long: long, value: argv[1], tokens: argv[:2]}, 2, nil
}

// checkPushFlag refuses what cannot run on UniK and says whether to pass the flag on.
func checkPushFlag(f pushFlag) (keep bool, err error) {
	refuse := func(why string) (bool, error) {
		return false, fmt.Errorf("cf %s: %s %s", CmdPush, strings.Join(f.tokens, " "), why)
	}
	switch f.long {
	case "stack":
		if f.value != UnikStack {
			return refuse(fmt.Sprintf("is refused: UniK apps run on stack %s (use cf push for other stacks)", UnikStack))
		}
		return false, nil // added once at the end
	case "buildpack":
		switch f.value {
		case "null", "default":
			return refuse(fmt.Sprintf("is refused: auto-detection cannot be combined with %s; name the app's buildpacks with -b", UnikBuildpack))
		case "":
			return refuse("is refused: the buildpack name is empty")
		}
		return false, nil // re-added in order before unik_buildpack
	case "docker-image", "docker-username":
		return refuse("is refused: UniK runs buildpack apps, not Docker images")
	case "droplet":
		return refuse(fmt.Sprintf("is refused: a droplet pushed as is was not staged with %s", UnikBuildpack))
	case "lifecycle":
		if f.value != "buildpack" {
			return refuse("is refused: UniK needs the buildpack lifecycle")
		}
	}
	return true, nil
}
