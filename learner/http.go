package learner

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// PolicyContentType is the media type of /v1/policy: the policy snapshot
// (protocol.EncodeSnapshot: a magic line, then the msgpack Weights), the
// same bytes policy.latest returns and the snapshot file holds.
const PolicyContentType = "application/vnd.podmedic.policy+msgpack"

// Handler serves /metrics, /healthz and /v1/policy. /healthz answers 503
// with the reason in "unhealthy" when NATS is down or training stalled
// (Status.Stalled).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		st := s.Status()
		body := struct {
			Status
			NATS      string `json:"nats"`
			Unhealthy string `json:"unhealthy,omitempty"`
		}{Status: st, NATS: s.nc.Status().String()}
		switch {
		case !s.nc.IsConnected():
			body.Unhealthy = "not connected to NATS (" + body.NATS + ")"
		case st.Stalled:
			body.Unhealthy = "training stalled: " + st.StallReason
		}
		w.Header().Set("Content-Type", "application/json")
		if body.Unhealthy != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if err := json.NewEncoder(w).Encode(body); err != nil {
			s.log.Debug("write healthz failed", "error", err)
		}
	})
	mux.HandleFunc("GET /v1/policy", func(w http.ResponseWriter, _ *http.Request) {
		data := s.PolicySnapshot()
		if data == nil {
			http.Error(w, "no policy yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", PolicyContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("X-Podmedic-Policy-Version", strconv.FormatUint(s.Status().Version, 10))
		if _, err := w.Write(data); err != nil {
			s.log.Debug("write policy failed", "error", err)
		}
	})
	return mux
}
