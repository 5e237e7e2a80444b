package main

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// freeTCPPorts returns n free loopback ports.
func freeTCPPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// TestNATSCommandRunsAClusterNode starts three `podmedic nats` nodes with
// --cluster, --routes and --jetstream-dir: they form one JetStream cluster
// that holds an R3 bucket, and clients given all three URLs spread over
// them.
func TestNATSCommandRunsAClusterNode(t *testing.T) {
	ports := freeTCPPorts(t, 6)
	routes := make([]string, 3)
	for i := range routes {
		routes[i] = "127.0.0.1:" + strconv.Itoa(ports[3+i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var urls []string
	for i := range 3 {
		urls = append(urls, "nats://127.0.0.1:"+strconv.Itoa(ports[i]))
		args := []string{"--nats-port", strconv.Itoa(ports[i]), "--nats-http-port", "0", "--server-name", "n" + strconv.Itoa(i+1),
			"--cluster", routes[i], "--routes", strings.Join(routes, ","), "--jetstream-dir", t.TempDir()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errOut bytes.Buffer
			if err := runNATS(ctx, args, &out, &errOut); err != nil {
				t.Errorf("nats node %d: %v (%s)", i+1, err, errOut.String())
			}
		}()
	}
	nf := natsFlags{url: strings.Join(urls, ",")}
	servers := map[string]int{}
	var conns []*nats.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	for range 12 {
		nc, err := nf.connect("spread", hclog.NewNullLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
		deadline := time.Now().Add(10 * time.Second)
		for !nc.IsConnected() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		servers[nc.ConnectedServerName()]++
	}
	// 12 clients on one of 3 servers by chance: 3 * 3^-12, about 5e-6.
	if len(servers) < 2 {
		t.Fatalf("12 clients given 3 URLs all connected to %v", servers)
	}
	js, err := jetstream.New(conns[0])
	if err != nil {
		t.Fatal(err)
	}
	jctx, jcancel := context.WithTimeout(ctx, 60*time.Second)
	defer jcancel()
	var kv jetstream.KeyValue
	for kv == nil {
		// The nodes elect their JetStream leader after they meet; a request
		// before that may go unanswered, so each attempt is bounded.
		actx, acancel := context.WithTimeout(jctx, 5*time.Second)
		kv, err = js.CreateKeyValue(actx, jetstream.KeyValueConfig{Bucket: "r3", Replicas: 3})
		acancel()
		if err != nil {
			if jctx.Err() != nil {
				t.Fatalf("no R3 bucket on the 3 nodes: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	st, err := kv.Status(jctx)
	if err != nil {
		t.Fatal(err)
	}
	if si := st.(*jetstream.KeyValueBucketStatus).StreamInfo(); si.Cluster == nil || len(si.Cluster.Replicas) != 2 {
		t.Fatalf("bucket cluster info %+v, want a leader and 2 replicas", si.Cluster)
	}
}

func TestNATSCommandConfigStandsAlone(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runNATS(context.Background(), []string{"--config", "x.conf", "--routes", "a:1"}, &out, &errOut)
	if err == nil || !isFlagError(err) || !strings.Contains(err.Error(), "--routes") {
		t.Fatalf("got %v, want a flag error naming --routes", err)
	}
}
