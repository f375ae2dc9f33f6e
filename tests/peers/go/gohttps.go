// gohttps: a Go HTTPS server and client (standard library only) for tlstap's
// end-to-end tests of Go's crypto/tls, with deterministic output and exit code.
//
//	gohttps server -addr 127.0.0.1:PORT -cert C -key K [-size N] [-stress]
//	    GET  answers N bytes of a fixed pattern (HTTP/1.1 or HTTP/2: ALPN
//	         offers h2 and http/1.1); POST echoes the body. Prints
//	         "ready 127.0.0.1:PORT" once listening (port 0: the kernel's
//	         choice); on SIGTERM/SIGINT it stops and prints "served N requests".
//	gohttps client -url URL [-proto 1|2] [-post-size N | -post FILE]
//	        [-conns N] [-requests M] [-k | -ca FILE] [-out FILE] [-stress] [-pause FILE]
//	    N connections at once, M requests one after the other on each;
//	    prints one line per request, in order (connection i's requests are
//	    i*M .. i*M+M-1): index, status, protocol, length, sha256; saves the
//	    body to FILE (one request) or FILE.index. A POST's echo must equal
//	    what was sent.
//
// -stress makes every handler / request goroutine recurse deeply with a
// large frame first, so that goroutine stacks grow (and move) many times
// while crypto/tls is in use, and runs the garbage collector without pause,
// which shrinks (moves) the stacks of goroutines blocked inside
// crypto/tls.(*Conn).Read; the recursion's result is checked, so the output
// does not change. Exit code 0 when everything worked, 1 otherwise.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pattern is the deterministic body of size n: lines of 64 printable bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		if i%64 == 63 {
			b[i] = '\n'
		} else {
			b[i] = byte('a' + (i/64+i%64)%26)
		}
	}
	return b
}

// deep recurses depth times with a 1 KiB frame, so each goroutine's stack
// is copied to larger ones several times; it returns a value that depends
// on every frame (so the frames are not optimised away).
func deep(depth int) uint64 {
	var frame [128]uint64
	frame[depth%128] = uint64(depth)
	if depth == 0 {
		return 1
	}
	return deep(depth-1) + frame[depth%128]%7
}

// 1000 frames of 1 KiB: a stack of 1 MiB, reached by doubling from 8 KiB.
const stressDepth = 1000

// stress grows the stack; an error when the recursion's answer is wrong.
func stress() error {
	want := uint64(1)
	for d := 1; d <= stressDepth; d++ {
		want += uint64(d) % 7
	}
	if got := deep(stressDepth); got != want {
		return fmt.Errorf("stack recursion gave %d, want %d", got, want)
	}
	return nil
}

// collectForever runs the garbage collector back to back: each cycle may
// shrink the stacks of parked goroutines, copying them elsewhere.
func collectForever() {
	for {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gohttps: "+format+"\n", args...)
	os.Exit(1)
}

func server(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8443", "listen address (127.0.0.0/8)")
	cert := fs.String("cert", "", "certificate file (PEM)")
	key := fs.String("key", "", "private key file (PEM)")
	size := fs.Int("size", 1<<20, "bytes answered to a GET")
	doStress := fs.Bool("stress", false, "grow each handler's stack first")
	fs.Parse(args)

	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		fail("%v", err)
	}
	body := pattern(*size)
	if *doStress {
		go collectForever()
	}
	var served int64
	var failed int32
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&served, 1)
		if *doStress {
			if err := stress(); err != nil {
				atomic.StoreInt32(&failed, 1)
				fmt.Fprintln(os.Stderr, "gohttps:", err)
			}
		}
		if r.Method == http.MethodPost {
			in, err := io.ReadAll(r.Body)
			if err != nil {
				atomic.StoreInt32(&failed, 1)
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(in)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	srv := &http.Server{
		Handler:   mux,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail("%v", err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	fmt.Println("ready", ln.Addr())
	select {
	case <-stop:
		srv.Shutdown(context.Background())
	case err := <-done:
		fail("%v", err)
	}
	fmt.Printf("served %d requests\n", atomic.LoadInt64(&served))
	if atomic.LoadInt32(&failed) != 0 {
		os.Exit(1)
	}
}

// transport is a new connection pool that speaks only proto (1 or 2).
func transport(proto int, tc *tls.Config) *http.Transport {
	t := &http.Transport{TLSClientConfig: tc, DisableCompression: true}
	if proto == 2 {
		tc.NextProtos = []string{"h2"}
		t.ForceAttemptHTTP2 = true
	} else {
		tc.NextProtos = []string{"http/1.1"}
		// A non-nil empty map turns HTTP/2 off.
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return t
}

type result struct {
	line string
	body []byte
	err  error
}

// connection makes n requests, one after the other, on one connection of
// its own (HTTP/1.1 keep-alive or one HTTP/2 connection).
func connection(url string, proto int, tc *tls.Config, post []byte, n int, doStress bool, pause string,
	late time.Duration) []result {
	out := make([]result, n)
	if doStress {
		if err := stress(); err != nil {
			for j := range out {
				out[j] = result{err: err}
			}
			return out
		}
	}
	t := transport(proto, tc)
	defer t.CloseIdleConnections()
	if late > 0 {
		lateWrites(t, tc, late)
	}
	if pause != "" {
		if err := predial(t, url, tc, pause); err != nil {
			for j := range out {
				out[j] = result{err: err}
			}
			return out
		}
	}
	client := &http.Client{Transport: t}
	for j := range out {
		out[j] = request(client, url, proto, post)
	}
	return out
}

// predial opens the connection and makes its handshake first, then waits
// (waitFor) before t may use it: a connection opened before the tracer,
// with no call of it in progress while waiting.
func predial(t *http.Transport, rawurl string, tc *tls.Config, pause string) error {
	u, err := neturl.Parse(rawurl)
	if err != nil {
		return err
	}
	c, err := tls.Dial("tcp", u.Host, tc)
	if err != nil {
		return err
	}
	waitFor(pause)
	var taken int32
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if atomic.CompareAndSwapInt32(&taken, 0, 1) {
			return c, nil
		}
		return nil, errors.New("-pause: one connection only")
	}
	return nil
}

// lateConn returns from each write, once armed, late after its bytes went
// out: a writer descheduled between its syscall and its return, as Go's
// transport is under load. The response may then be read back before the
// write of its request has returned.
type lateConn struct {
	net.Conn
	late  time.Duration
	armed int32
}

func (c *lateConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if atomic.LoadInt32(&c.armed) != 0 {
		time.Sleep(c.late)
	}
	return n, err
}

// lateWrites makes t's connections return from each write (after the
// handshake) late after its bytes went out.
func lateWrites(t *http.Transport, tc *tls.Config, late time.Duration) {
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		lc := &lateConn{Conn: raw, late: late}
		c := tls.Client(lc, tc)
		if err := c.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		atomic.StoreInt32(&lc.armed, 1)
		return c, nil
	}
}

// waitFor says it waits (PATH.ready) and waits until PATH exists (at most 60 s).
func waitFor(path string) {
	if err := os.WriteFile(path+".ready", nil, 0o644); err != nil {
		fail("%v", err)
	}
	for i := 0; i < 6000; i++ {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	fail("%s never appeared", path)
}

func request(client *http.Client, url string, proto int, post []byte) result {
	var resp *http.Response
	var err error
	if post != nil {
		resp, err = client.Post(url, "application/octet-stream", bytes.NewReader(post))
	} else {
		resp, err = client.Get(url)
	}
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{err: err}
	}
	if resp.ProtoMajor != proto {
		return result{err: fmt.Errorf("spoke %s, not HTTP/%d", resp.Proto, proto)}
	}
	if post != nil && !bytes.Equal(body, post) {
		return result{err: errors.New("the echo differs from the body sent")}
	}
	line := fmt.Sprintf("%d %s %d %x", resp.StatusCode, resp.Proto, len(body), sha256.Sum256(body))
	return result{line: line, body: body}
}

func client(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	url := fs.String("url", "", "https URL (127.0.0.0/8)")
	proto := fs.Int("proto", 2, "HTTP version: 1 (HTTP/1.1) or 2")
	postSize := fs.Int("post-size", -1, "POST this many bytes of the pattern")
	postFile := fs.String("post", "", "POST this file")
	conns := fs.Int("conns", 1, "concurrent connections")
	requests := fs.Int("requests", 1, "requests on each connection, one after the other")
	insecure := fs.Bool("k", false, "do not verify the server's certificate")
	ca := fs.String("ca", "", "verify the server against this CA (PEM)")
	out := fs.String("out", "", "save the body (bodies: FILE.i) here")
	doStress := fs.Bool("stress", false, "grow each request goroutine's stack first")
	pause := fs.String("pause", "", "connect and shake hands, write FILE.ready, wait for FILE, then send (one connection)")
	late := fs.Duration("late-write", 0, "return from each TLS write this long after its bytes went out")
	fs.Parse(args)

	if *proto != 1 && *proto != 2 {
		fail("-proto is 1 or 2")
	}
	var post []byte
	if *postFile != "" {
		b, err := os.ReadFile(*postFile)
		if err != nil {
			fail("%v", err)
		}
		post = b
	} else if *postSize >= 0 {
		post = pattern(*postSize)
	}
	var roots *x509.CertPool
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			fail("%v", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			fail("no certificate in %s", *ca)
		}
	}
	if *doStress {
		go collectForever()
	}
	if *conns < 1 || *requests < 1 {
		fail("-conns and -requests are at least 1")
	}
	if *pause != "" && *conns != 1 {
		fail("-pause takes one connection")
	}
	if *pause != "" && *late != 0 {
		fail("-pause and -late-write dial each their own way")
	}
	results := make([]result, *conns**requests)
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tc := &tls.Config{InsecureSkipVerify: *insecure, RootCAs: roots}
			rs := connection(*url, *proto, tc, post, *requests, *doStress, *pause, *late)
			copy(results[i**requests:], rs)
		}(i)
	}
	wg.Wait()
	if *late > 0 {
		// Writes still asleep would never return (nor be captured) after exit.
		time.Sleep(*late + 200*time.Millisecond)
	}
	status := 0
	for i, r := range results {
		if r.err != nil {
			fmt.Printf("%d error\n", i)
			fmt.Fprintf(os.Stderr, "gohttps: request %d: %v\n", i, r.err)
			status = 1
			continue
		}
		fmt.Printf("%d %s\n", i, r.line)
		if *out == "" {
			continue
		}
		name := *out
		if len(results) > 1 {
			name = fmt.Sprintf("%s.%d", *out, i)
		}
		if err := os.WriteFile(name, r.body, 0o644); err != nil {
			fail("%v", err)
		}
	}
	os.Exit(status)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: gohttps server|client [options]")
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2:])
	case "client":
		client(os.Args[2:])
	default:
		fail("unknown mode %q: server or client", os.Args[1])
	}
}
