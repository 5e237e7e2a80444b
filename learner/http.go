package learner

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// PolicyContentType is the media type of /v1/policy: the msgpack-encoded
// protocol.Weights message, the same bytes policy.latest returns.
const PolicyContentType = "application/vnd.podmedic.policy+msgpack"

// Handler serves /metrics, /healthz and /v1/policy.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		st := s.Status()
		body := struct {
			Status
			NATS string `json:"nats"`
		}{st, s.nc.Status().String()}
		w.Header().Set("Content-Type", "application/json")
		if !s.nc.IsConnected() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if err := json.NewEncoder(w).Encode(body); err != nil {
			s.log.Debug("write healthz failed", "error", err)
		}
	})
	mux.HandleFunc("GET /v1/policy", func(w http.ResponseWriter, _ *http.Request) {
		data := s.Snapshot()
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
