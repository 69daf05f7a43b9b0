// Package reports holds the conformance report model and its renderings.
//
// One model, many renderings: the runner fills a Conformance, calls Summarize, and hands it to
// WriteJSON (the canonical artifact, read back by ReadJSON for `pushcert report`), WriteConsole
// (the terminal), WriteJUnit (CI dashboards), WriteHTML (a self-contained page a vendor can
// publish) and WriteMatrixHTML / WriteMatrixText (several implementations, case by case).
//
// Every renderer works on a normalized copy (cases sorted by ID, capability lists sorted, times in
// UTC, summary recomputed), so the caller's value is never modified and the same report renders
// the same way whether it comes straight from the runner or from a JSON file.
//
// The package imports nothing of the project: the suite, the CLI and the load generator all depend
// on it, never the other way around.
package reports
