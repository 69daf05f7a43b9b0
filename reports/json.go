package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxJSONSize bounds what ReadJSON accepts; a real report with full wire logs is a few MB.
const maxJSONSize = 256 << 20

// WriteJSON writes c in canonical form: cases sorted by ID, keys in a fixed order, two-space
// indent, a trailing newline, and a summary recomputed from the cases. Writing what ReadJSON
// returns gives the same bytes again.
func WriteJSON(w io.Writer, c *Conformance) error {
	if c == nil {
		return errors.New("reports: nil report")
	}
	n := normalized(c)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Wire logs are full of '<' and '&'; escaping them would make the file unreadable by eye
	// and gains nothing, since every HTML rendering escapes on its own.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(n); err != nil {
		return fmt.Errorf("reports: encode JSON: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// ReadJSON decodes a report written by WriteJSON and validates it: the format, outcomes, levels,
// step statuses, wire directions, case IDs, and a summary (when present) that agrees with the
// cases. The returned report is normalized and carries a freshly computed summary.
func ReadJSON(r io.Reader) (*Conformance, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJSONSize+1))
	if err != nil {
		return nil, fmt.Errorf("reports: read JSON: %w", err)
	}
	if len(data) > maxJSONSize {
		return nil, fmt.Errorf("reports: report larger than %d bytes", maxJSONSize)
	}
	var c Conformance
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("reports: decode JSON: %w", err)
	}
	if c.Format != "" && c.Format != Format {
		return nil, fmt.Errorf("reports: unknown format %q, want %q", c.Format, Format)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("reports: invalid report: %w", err)
	}
	for o := range c.Summary.ByOutcome {
		if !o.Valid() {
			return nil, fmt.Errorf("reports: invalid report: summary: unknown outcome %q", o)
		}
	}
	stored := c.Summary
	n := normalized(&c)
	if stored.Total != 0 || stored.ByOutcome != nil {
		if !summaryEqual(stored, n.Summary) {
			return nil, errors.New("reports: invalid report: summary disagrees with the cases")
		}
	}
	return n, nil
}
