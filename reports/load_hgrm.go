package reports

import (
	"bufio"
	"fmt"
	"io"
)

// hgrmTicksPerHalfDistance is the resolution of the percentile distribution: 5 rows per halving of
// the distance to 100%, the density of HdrHistogram's own percentile output.
const hgrmTicksPerHalfDistance = 5

// WriteHgrm writes the metric's percentile distribution in HdrHistogram's text format (.hgrm),
// values in milliseconds, which is what the HdrHistogram plotter
// (hdrhistogram.github.io/HdrHistogram/plotFiles.html) reads and labels.
func WriteHgrm(w io.Writer, m LatencyMetric) error {
	h, err := m.DecodeHistogram()
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	bw := bufio.NewWriter(w)
	if _, err := h.PercentilesPrint(bw, hgrmTicksPerHalfDistance, 1000.0); err != nil {
		return fmt.Errorf("reports: write %s .hgrm: %w", m.Name, err)
	}
	return bw.Flush()
}
