package ops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// promAPI queries Prometheus's HTTP API.
type promAPI struct{ base string }

// sample is one series of an instant-query result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// query evaluates expr now; an error carries Prometheus's message.
func (a promAPI) query(ctx context.Context, expr string) ([]sample, error) {
	var body struct {
		Status, Error string
		Data          struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		}
	}
	if err := a.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", expr, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", expr, body.Data.ResultType)
	}
	var res []sample
	if err := json.Unmarshal(body.Data.Result, &res); err != nil {
		return nil, fmt.Errorf("decode result of %s: %w", expr, err)
	}
	return res, nil
}

func (a promAPI) get(ctx context.Context, path string, q url.Values, v any) error {
	u := a.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode %s (HTTP %d): %w", path, resp.StatusCode, err)
	}
	return nil
}
