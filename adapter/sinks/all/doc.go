// Package all registers every sink kind the project ships: import it
// blank where the daemon is built (one file per kind, like
// adapter/sources/all).
package all
