package loadgen

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pushcert/pushcert/reports"
)

// DefaultConnectionGauge is the reference server's gauge of open WebSocket connections.
const DefaultConnectionGauge = "pushcert_connections"

// serverCount reads the target's own count of open connections from its Prometheus endpoint, so
// the run can hold it against the connections it holds itself: a server whose count runs away
// from the clients' leaks connections (and, with them, presence members).
type serverCount struct {
	url, gauge string
	http       *http.Client
}

// connCounter reads the target's count before and after the ramp, and judges it at the end;
// nil when the run has no --target-metrics.
type connCounter struct {
	sc            serverCount
	before, after float64
	err           error
}

func newConnCounter(ctx context.Context, cfg Config) *connCounter {
	if cfg.TargetMetrics == "" {
		return nil
	}
	cc := &connCounter{sc: serverCount{url: cfg.TargetMetrics, gauge: cfg.ConnectionGauge, http: targetHTTP(cfg, 10*time.Second, 2)}}
	cc.before, cc.err = cc.sc.read(ctx)
	return cc
}

func (cc *connCounter) afterRamp(ctx context.Context) {
	if cc != nil && cc.err == nil {
		cc.after, cc.err = cc.sc.read(ctx)
	}
}

// checks compares the count after the ramp with the held connections and waits, up to wait, for
// it to fall back once the clients have closed.
func (cc *connCounter) checks(ctx context.Context, held int64, wait time.Duration) []reports.Check {
	if cc == nil {
		return nil
	}
	out := []reports.Check{countsCheck(cc.before, cc.after, cc.err, held)}
	if cc.err == nil {
		out = append(out, cc.sc.releasedCheck(ctx, cc.before, wait))
	}
	return out
}

// read sums the gauge over its series.
func (sc serverCount) read(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sc.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := sc.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", sc.url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", sc.url, err)
	}
	f, ok := fams[sc.gauge]
	if !ok {
		return 0, fmt.Errorf("%s has no metric %s", sc.url, sc.gauge)
	}
	var sum float64
	for _, m := range f.GetMetric() {
		sum += value(f.GetType(), m)
	}
	return sum, nil
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	}
	return m.GetUntyped().GetValue()
}

// countTolerance is how far the server's count may be from the generator's: other clients of
// the target come and go.
func countTolerance(held int64) float64 { return math.Max(2, 0.01*float64(held)) }

// countsCheck compares the server's count after the ramp with the connections the run held.
func countsCheck(before, after float64, errs error, held int64) reports.Check {
	c := reports.Check{Name: "server counts our connections"}
	if errs != nil {
		c.Detail = "could not read the target's metrics: " + errs.Error()
		return c
	}
	grew := after - before
	c.Pass = math.Abs(grew-float64(held)) <= countTolerance(held)
	c.Detail = fmt.Sprintf("the target's count rose by %.0f (from %.0f to %.0f) while the run opened %d connections", grew, before, after, held)
	return c
}

// releasedCheck waits up to wait for the server's count to fall back to before, once every
// client has closed.
func (sc serverCount) releasedCheck(ctx context.Context, before float64, wait time.Duration) reports.Check {
	c := reports.Check{Name: "server released our connections"}
	deadline := time.Now().Add(wait)
	var now float64
	var err error
	for {
		if now, err = sc.read(ctx); err == nil && now-before <= countTolerance(0) {
			c.Pass = true
			c.Detail = fmt.Sprintf("the target's count fell back to %.0f (%.0f before the run)", now, before)
			return c
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		c.Detail = "could not read the target's metrics: " + err.Error()
	} else {
		c.Detail = fmt.Sprintf("%s after every client closed, the target still counts %.0f connections (%.0f before the run): %.0f leaked", wait, now, before, now-before)
	}
	return c
}
