package natsserver

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestStartServesLargeMessagesOnLoopback(t *testing.T) {
	ns, err := Start(Config{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.MaxPayload(); got != DefaultMaxPayload {
		t.Fatalf("max payload %d, want %d", got, DefaultMaxPayload)
	}
	if host := ns.Addr().String(); host[:10] != "127.0.0.1:" {
		t.Fatalf("listening on %s, want loopback", host)
	}
	sub, err := nc.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 2<<20) // over NATS's 1 MiB default
	if err := nc.Publish("x", big); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Data) != len(big) {
		t.Fatalf("received %d bytes, want %d", len(msg.Data), len(big))
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	if _, err := Start(Config{Port: -1, MaxPayload: -1}); err == nil {
		t.Fatal("negative max payload accepted")
	}
}

func TestStartRefusesBadClusterConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"routes without cluster":      {Port: -1, Routes: []string{"127.0.0.1:6222"}},
		"cluster name alone":          {Port: -1, ClusterName: "x"},
		"cluster address":             {Port: -1, Cluster: "nohost"},
		"cluster port":                {Port: -1, Cluster: "127.0.0.1:99999"},
		"route":                       {Port: -1, Cluster: "127.0.0.1:-1", Routes: []string{"nats-route://noport"}},
		"max store without dir":       {Port: -1, JetStreamMaxStore: 1 << 20},
		"config file and flags":       {Port: -1, ConfigFile: "x.conf"},
		"config file missing":         {ConfigFile: filepath.Join(t.TempDir(), "missing.conf")},
		"negative jetstream maxstore": {Port: -1, JetStreamDir: t.TempDir(), JetStreamMaxStore: -1},
	} {
		t.Run(name, func(t *testing.T) {
			ns, err := Start(cfg)
			if err == nil {
				ns.Shutdown()
				t.Fatal("accepted")
			}
			t.Log(err)
		})
	}
}

// A 3-node cluster: a message published on one node reaches subscribers on
// the others, and JetStream keeps an R3 key-value bucket through the loss
// of one node.
func TestClusterRoutesAndJetStream(t *testing.T) {
	c, err := StartCluster(3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	for _, ns := range c.Nodes {
		if got := ns.NumRoutes(); got < 2 {
			t.Fatalf("%s has %d routes, want >= 2", ns.Name(), got)
		}
	}
	pub, err := nats.Connect(c.Nodes[0].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := nats.Connect(c.Nodes[2].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	s, err := sub.SubscribeSync("w")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	// Interest propagates over the routes asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	var msg *nats.Msg
	for msg == nil && time.Now().Before(deadline) {
		if err := pub.Publish("w", []byte("v1")); err != nil {
			t.Fatal(err)
		}
		msg, _ = s.NextMsg(100 * time.Millisecond)
	}
	if msg == nil || string(msg.Data) != "v1" {
		t.Fatalf("message from node 1 did not reach node 3: %v", msg)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	js, err := jetstream.New(cl)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "t", Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte("1")); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	var e jetstream.KeyValueEntry
	for e == nil {
		// A request sent to the lost node's stream leader goes unanswered:
		// bound each attempt, not only the whole wait.
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		e, err = kv.Get(actx, "k")
		acancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("R3 bucket unreadable after losing one of 3 nodes: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if string(e.Value()) != "1" {
		t.Fatalf("value %q after losing a node", e.Value())
	}
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
}

func TestStartFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "n.conf")
	body := "listen: 127.0.0.1:-1\nmax_payload: 2MB\nserver_name: $NODE_NAME\njetstream { store_dir: \"" + filepath.Join(dir, "js") + "\" }\n" +
		"accounts { A { jetstream: enabled, users: [ { user: u, password: $U_PASS } ] } }\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NODE_NAME", "from-env")
	t.Setenv("U_PASS", "secret")
	ns, err := Start(Config{ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	if ns.Name() != "from-env" {
		t.Fatalf("server name %q, want the environment's", ns.Name())
	}
	if err := WaitJetStream(ns, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := nats.Connect(ns.ClientURL(), nats.UserInfo("u", "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("u", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.MaxPayload(); got != 2<<20 {
		t.Fatalf("max payload %d, want the file's 2 MiB", got)
	}
}

// TestTakenPortSaidAtOnce: a port in use is reported at once, naming the
// address, instead of after the 10 s readiness wait.
func TestTakenPortSaidAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = Start(Config{Port: port})
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Start on a taken port: %v, want an error naming %s", err, ln.Addr())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s to say the port is taken", d)
	}
	if _, err = Start(Config{Port: -1, HTTPPort: port}); err == nil || !strings.Contains(err.Error(), "monitoring") {
		t.Fatalf("Start with a taken monitoring port: %v", err)
	}
}
