// Package logs sends an instance's output and the cell's lifecycle messages to loggregator v2
// (through diego-logging-client, as Diego's executor does): the app's stdout and stderr, which
// the engine appends to files, are followed and sent line by line as OUT and ERR with the Run
// action's source type (APP/PROC/WEB) and the instance index; lifecycle messages ("Cell X
// creating container for instance Y") go out with the LRP's log source (CELL).
package logs
