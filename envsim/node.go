package envsim

// node is one worker node. A failed node's kubelet is silent: its pods
// serve nothing, but the API keeps showing them as they were until the
// node controller marks the node NotReady after the node-monitor grace
// period; their eviction follows after the NoExecute toleration
// (REFERENCE.md, "Node failure").
type node struct {
	down       bool // failed (kubelet silent)
	notReady   bool // marked NotReady by the node controller
	downAt     int  // step it failed
	notReadyAt int  // step it was marked NotReady
	evicted    bool // its pods were evicted
}

// schedule binds p to the schedulable node with the fewest live pods of
// the Deployment, ties broken at random (the default scheduler spreads
// replicas). A node marked NotReady carries a NoSchedule taint; a failed
// node the controller has not noticed yet still looks fine and can be
// chosen. It returns false when no node is schedulable.
func (c *Cluster) schedule(p *pod) bool {
	var count [maxNodes]int
	for i := range c.pods {
		if q := &c.pods[i]; q.live() && q.node != noNode {
			count[q.node]++
		}
	}
	best, bestN, ties := noNode, 0, 0
	for n := range c.cfg.Kube.Nodes {
		if c.nodes[n].notReady {
			continue
		}
		switch {
		case best == noNode || count[n] < bestN:
			best, bestN, ties = n, count[n], 1
		case count[n] == bestN:
			ties++
			if c.rng.IntN(ties) == 0 {
				best = n
			}
		}
	}
	p.node = int8(best)
	return best != noNode
}

// podsOnNode counts the live pods of the Deployment on node n.
func (c *Cluster) podsOnNode(n int8) int {
	k := 0
	for i := range c.pods {
		if q := &c.pods[i]; q.live() && q.node == n {
			k++
		}
	}
	return k
}

// advanceNodes runs the node controller: a failed node turns NotReady
// after the grace period, its pods leave the endpoints, and after the
// toleration they are evicted (deleted; their ReplicaSets replace them).
func (c *Cluster) advanceNodes() {
	if c.nodesDown == 0 {
		return
	}
	grace := secondsToSteps(c.cfg.Kube.NodeMonitorGraceSeconds)
	toleration := secondsToSteps(c.cfg.Kube.TolerationSeconds)
	for n := range c.cfg.Kube.Nodes {
		nd := &c.nodes[n]
		if !nd.down {
			continue
		}
		if !nd.notReady && c.step-nd.downAt >= grace {
			nd.notReady, nd.notReadyAt = true, c.step
			c.info.addEvent(Event{Kind: EventNodeNotReady, Pod: -1, Node: n})
		}
		if nd.notReady && !nd.evicted && c.step-nd.notReadyAt >= toleration {
			nd.evicted = true
			for i := range c.pods {
				if p := &c.pods[i]; p.live() && p.node == int8(n) {
					c.deletePod(i)
					c.info.addEvent(Event{Kind: EventPodEvicted, Pod: i, Node: n})
				}
			}
		}
	}
}

// failNode takes node n down.
func (c *Cluster) failNode(n int) {
	if !c.nodes[n].down {
		c.nodesDown++
	}
	c.nodes[n] = node{down: true, downAt: c.step}
}

// restoreNode brings node n back after a reboot: pods deleted while it
// was down are gone, the others restart their containers.
func (c *Cluster) restoreNode(n int) {
	if c.nodes[n].down {
		c.nodesDown--
	}
	c.nodes[n] = node{}
	for i := range c.pods {
		p := &c.pods[i]
		if p.node != int8(n) {
			continue
		}
		switch {
		case p.phase == phaseTerminating:
			*p = pod{view: noView, node: noNode}
		case p.live():
			if p.phase == phaseRunning || p.phase == phaseCrashed {
				p.restarts++
			}
			p.clearDown()
			p.leaked, p.memHog = 0, 0
			c.beginWarmup(p)
		}
	}
	c.info.addEvent(Event{Kind: EventNodeReady, Pod: -1, Node: n})
}

// nodesNotReady counts nodes marked NotReady.
func (c *Cluster) nodesNotReady() int {
	if c.nodesDown == 0 {
		return 0
	}
	k := 0
	for n := range c.cfg.Kube.Nodes {
		if c.nodes[n].notReady {
			k++
		}
	}
	return k
}
