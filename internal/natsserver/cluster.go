package natsserver

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a JetStream cluster of embedded nodes on loopback, for tests
// and demos: every node has its own client port, cluster port and
// JetStream directory, and lists every node as a route.
type Cluster struct {
	// Nodes are the running servers; a stopped node's entry is nil until
	// Restart brings it back.
	Nodes   []*server.Server
	configs []Config
}

// StartCluster starts n nodes named n1..nN with JetStream under dir/nN
// and waits until JetStream is ready on every node.
func StartCluster(n int, dir string) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("natsserver: cluster of %d nodes", n)
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var routes []string
	for i := range n {
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(ports[n+i]))
	}
	c := &Cluster{}
	for i := range n {
		name := "n" + strconv.Itoa(i+1)
		c.configs = append(c.configs, Config{Port: ports[i], ServerName: name,
			Cluster: routes[i], Routes: routes, JetStreamDir: filepath.Join(dir, name)})
	}
	for i := range n {
		ns, err := Start(c.configs[i])
		if err != nil {
			c.Shutdown()
			return nil, err
		}
		c.Nodes = append(c.Nodes, ns)
	}
	for _, ns := range c.Nodes {
		if err := WaitJetStream(ns, 30*time.Second); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	return c, nil
}

// URLs returns the client URLs of every node (stopped ones included),
// comma separated as nats.Connect takes them.
func (c *Cluster) URLs() string {
	s := ""
	for i, cfg := range c.configs {
		if i > 0 {
			s += ","
		}
		s += "nats://127.0.0.1:" + strconv.Itoa(cfg.Port)
	}
	return s
}

// Stop shuts node i down (its JetStream files stay).
func (c *Cluster) Stop(i int) {
	if ns := c.Nodes[i]; ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		c.Nodes[i] = nil
	}
}

// Restart starts a stopped node i again on its ports and files and waits
// for its JetStream.
func (c *Cluster) Restart(i int) error {
	if c.Nodes[i] != nil {
		return errors.New("natsserver: node is running")
	}
	ns, err := Start(c.configs[i])
	if err != nil {
		return err
	}
	c.Nodes[i] = ns
	return WaitJetStream(ns, 30*time.Second)
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.Nodes {
		c.Stop(i)
	}
}

// freePorts returns n distinct free loopback ports. Another process may
// take one before it is used; tests then fail at Start, saying so.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("natsserver: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
