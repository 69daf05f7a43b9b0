package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/pushcert/pushcert/internal/redisproc"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/reports"
)

// childEnv marks a process started as the load generator's embedded server, so that a test
// binary standing in for pushcert knows to act as it.
const childEnv = "PUSHCERT_CHILD"

// serverProcess is the reference server that `load` starts when no --target is given: a
// `pushcert serve` child process on a free loopback port. In a process of its own the server has
// its own open-file limit (a connection inside one process costs two files) and its own CPU and
// memory, which the summary reports beside the generator's.
type serverProcess struct {
	addr string
	args []string
	out  io.Writer

	mu    sync.Mutex
	cur   *child
	usage reports.ServerUsage
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it exited and was accounted
}

// startServerProcess starts the embedded server as a child process with extra serve flags.
func startServerProcess(ctx context.Context, stderr io.Writer, extra ...string) (*target.Target, *serverProcess, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &serverProcess{addr: addr, out: stderr, args: append([]string{"serve", "--addr", addr,
		"--app-id", target.EmbeddedAppID, "--key", target.EmbeddedKey, "--secret", target.EmbeddedSecret, "--log-level", "error"}, extra...)}
	if err := p.start(ctx); err != nil {
		return nil, nil, err
	}
	return &target.Target{
		WebSocketURL: "ws://" + addr, APIURL: "http://" + addr,
		AppID: target.EmbeddedAppID, Key: target.EmbeddedKey, Secret: target.EmbeddedSecret,
		Embedded: true, Name: "pushcert refserver", Restart: func() error { return p.restart(ctx) },
	}, p, nil
}

// serverGroup is what load runs as child processes: one embedded server, or the nodes of a
// cluster on a redis-server of their own.
type serverGroup struct {
	procs []*serverProcess
	redis *redisproc.Server // nil for one server
}

// startServers starts one embedded server (nodes 0), or a real redis-server and that many nodes
// on it; the target's Nodes name them, and its Restart restarts the first.
func startServers(ctx context.Context, stderr io.Writer, nodes int, extra ...string) (*target.Target, *serverGroup, error) {
	g := &serverGroup{}
	if nodes == 0 {
		tg, p, err := startServerProcess(ctx, stderr, extra...)
		if err != nil {
			return nil, nil, err
		}
		g.procs = []*serverProcess{p}
		return tg, g, nil
	}
	rs, err := redisproc.Start(0)
	if err != nil {
		return nil, nil, err
	}
	g.redis = rs
	stderr = &lockedWriter{w: stderr} // the nodes write their logs at once
	var first *target.Target
	for i := range nodes {
		tg, p, err := startServerProcess(ctx, stderr, append([]string{"--redis", rs.URL()}, extra...)...)
		if err != nil {
			g.stop()
			return nil, nil, fmt.Errorf("cluster node %d: %w", i+1, err)
		}
		g.procs = append(g.procs, p)
		if first == nil {
			first = tg
		}
		first.Nodes = append(first.Nodes, target.Node{WebSocketURL: tg.WebSocketURL, APIURL: tg.APIURL})
	}
	first.Name = fmt.Sprintf("pushcert refserver (%d nodes on Redis)", nodes)
	return first, g, nil
}

// lockedWriter lets several children write to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stop ends every child, then Redis.
func (g *serverGroup) stop() {
	for _, p := range g.procs {
		p.stop()
	}
	if g.redis != nil {
		g.redis.Stop()
	}
}

// Usage is what the children used together: their CPU, the sum of their peaks (the nodes ran
// at once), every process they were; call it after stop.
func (g *serverGroup) Usage() reports.ServerUsage {
	var u reports.ServerUsage
	if g.redis != nil {
		u.Nodes = len(g.procs)
	}
	for _, p := range g.procs {
		pu := p.Usage()
		u.CPUSeconds += pu.CPUSeconds
		u.MaxRSSKiB += pu.MaxRSSKiB
		u.Processes += pu.Processes
	}
	return u
}

// start runs a child and waits until it answers /up.
func (p *serverProcess) start(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, p.args...)
	cmd.Env = append(os.Environ(), childEnv+"=serve")
	cmd.Stdout, cmd.Stderr = io.Discard, p.out
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the embedded server: %w", err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.account(cmd)
		close(c.done)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-c.done:
			return fmt.Errorf("the embedded server exited at start: %v", cmd.ProcessState)
		default:
		}
		if resp, err := http.Get("http://" + p.addr + "/up"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = cmd.Process.Kill()
			<-c.done
			return errors.New("the embedded server did not answer /up within 10 s")
		}
	}
	p.mu.Lock()
	p.cur = c
	p.mu.Unlock()
	return nil
}

// account adds an exited child's CPU and peak memory to the usage.
func (p *serverProcess) account(cmd *exec.Cmd) {
	st := cmd.ProcessState
	if st == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.usage.CPUSeconds += (st.UserTime() + st.SystemTime()).Seconds()
	p.usage.MaxRSSKiB = max(p.usage.MaxRSSKiB, peakRSSKiB(st))
	p.usage.Processes++
}

// stop ends the running child gracefully (every client gets 4200) and waits for it.
func (p *serverProcess) stop() {
	p.mu.Lock()
	c := p.cur
	p.cur = nil
	p.mu.Unlock()
	if c == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// restart stops the child and starts a fresh one on the same address.
func (p *serverProcess) restart(ctx context.Context) error {
	p.stop()
	return p.start(ctx)
}

// Usage is what the children used; call it after stop.
func (p *serverProcess) Usage() reports.ServerUsage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.usage
}
