//go:build !unix

package db

// Book Smeta builds for unix only (docs/decisions.md, "Unix only"): the
// SQLite lock file and the restore rely on flock(2). This undefined name
// makes that the first thing a Windows build says.
var _ = bookSmetaBuildsForUnixOnlySeeDocsDecisions
