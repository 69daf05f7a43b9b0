package target

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Image is a vendor's server image to start as the target (--target-image): on the host's
// network (nothing is mapped), listening on 127.0.0.1:Port, configured by Env (the app's
// credentials among them) and Cmd (the image's own command when empty).
type Image struct {
	Ref  string
	Port int
	Env  map[string]string
	Cmd  []string
	// Ready bounds the wait for the server to accept connections on Port.
	Ready time.Duration
}

// Running is a started image: how to read its logs and remove it.
type Running struct {
	ctr *testcontainers.DockerContainer
}

// StartImage starts the image and waits until it accepts TCP connections on 127.0.0.1:Port (or
// exits, or Ready passes: then it is removed and the error has its last logs). The container is
// the caller's to Remove, on every path, Ctrl-C included.
func StartImage(ctx context.Context, img Image) (*Running, error) {
	if img.Port <= 0 || img.Port > 65535 {
		return nil, fmt.Errorf("--image-port %d: the port the image's server listens on, 1 to 65535", img.Port)
	}
	tclog.SetDefault(tclog.NewNoopLogger()) // its banner is not the run's output
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		// Its reaper is an image to pull, and no registry may be reachable: pushcert removes
		// its containers itself.
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if !portFree(img.Port) {
		return nil, fmt.Errorf("127.0.0.1:%d is already taken: the image's server could not listen there (--image-port), or another server would be tested", img.Port)
	}
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithEnv(img.Env),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.NetworkMode = "host" }),
		testcontainers.WithLabels(map[string]string{"io.pushcert.target": "true"}),
	}
	if len(img.Cmd) > 0 {
		opts = append(opts, testcontainers.WithCmd(img.Cmd...))
	}
	ctr, err := testcontainers.Run(ctx, img.Ref, opts...)
	r := &Running{ctr: ctr}
	if err != nil {
		r.Remove()
		return nil, fmt.Errorf("start %s: %w", img.Ref, err)
	}
	ready := img.Ready
	if ready <= 0 {
		ready = time.Minute
	}
	if err := r.awaitPort(ctx, img.Port, ready); err != nil {
		logs := r.tail(20)
		r.Remove()
		return nil, fmt.Errorf("%s: %w%s", img.Ref, err, logs)
	}
	return r, nil
}

// portFree reports whether nothing listens on 127.0.0.1:port now.
func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 300*time.Millisecond)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

// awaitPort waits until the server accepts a connection on 127.0.0.1:port, while the container
// runs.
func (r *Running) awaitPort(ctx context.Context, port int, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if st, err := r.ctr.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("the container exited (code %d) before it listened on %s", st.ExitCode, addr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listened on %s within %v (is its server on that port, on 127.0.0.1?)", addr, d)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Logs are the container's output (stdout and stderr) so far.
func (r *Running) Logs(ctx context.Context) ([]byte, error) {
	rc, err := r.ctr.Logs(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// tail is the last n lines of the logs, for an error.
func (r *Running) tail(n int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := r.Logs(ctx)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := 0
	i := len(b)
	for i > 0 && lines <= n {
		i--
		if b[i] == '\n' {
			lines++
		}
	}
	return "\n--- the container's last output ---\n" + string(b[i:])
}

// ID is the container's id.
func (r *Running) ID() string {
	if r.ctr == nil {
		return ""
	}
	return r.ctr.GetContainerID()
}

// Remove stops the container (SIGTERM, then SIGKILL after 5 s) and removes it, on a context of
// its own: it runs after Ctrl-C too.
func (r *Running) Remove() error {
	if r == nil || r.ctr == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return testcontainers.TerminateContainer(r.ctr, testcontainers.StopContext(ctx), testcontainers.StopTimeout(5*time.Second))
}
