package tsa

import (
	"time"

	"github.com/digitorus/timestamp"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the authority's Prometheus collectors: tokens issued, requests refused by
// reason, request latency, serial reservations. A nil *Metrics records nothing.
type Metrics struct {
	issued       prometheus.Counter
	refused      *prometheus.CounterVec
	latency      prometheus.Histogram
	reservations prometheus.Counter
	reserved     prometheus.Counter
	reserveTime  prometheus.Histogram
}

// NewMetrics registers the collectors with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		issued: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_tsa_tokens_issued_total", Help: "Timestamp tokens issued."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_tsa_requests_refused_total",
			Help: "Requests refused, by reason: a PKIFailureInfo name (RFC 3161), or rate-limited, content-type, too-large, unreadable."}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cachet_tsa_request_duration_seconds",
			Help:    "Time from a timestamp request's arrival to its answer, issued or refused.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1}}),
		reservations: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_tsa_serial_reservations_total", Help: "Durable serial-number block reservations (fsynced high-water marks)."}),
		reserved:     prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_tsa_serials_reserved_total", Help: "Serial numbers covered by reservations."}),
		reserveTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cachet_tsa_serial_reservation_duration_seconds",
			Help: "Time to write and fsync one reservation.", Buckets: prometheus.ExponentialBuckets(.0005, 2, 12)}),
	}
	for _, c := range []prometheus.Collector{m.issued, m.refused, m.latency, m.reservations, m.reserved, m.reserveTime} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every reason is exported from the start (at 0), so a rate over it exists before
	// the first refusal.
	for _, r := range refusalReasons {
		m.refused.WithLabelValues(r)
	}
	return m, nil
}

// Refusal reasons outside the authority (the HTTP layer).
const (
	reasonRateLimited = "rate-limited"
	reasonContentType = "content-type"
	reasonTooLarge    = "too-large"
	reasonUnreadable  = "unreadable"
)

var refusalReasons = []string{reasonRateLimited, reasonContentType, reasonTooLarge, reasonUnreadable,
	"badAlg", "badRequest", "badDataFormat", "timeNotAvailable", "unacceptedPolicy", "unacceptedExtension", "addInfoNotAvailable", "systemFailure"}

// failureReason is the metric label of a PKIFailureInfo: its RFC 3161 name.
func failureReason(f timestamp.FailureInfo) string {
	switch f {
	case timestamp.BadAlgorithm:
		return "badAlg"
	case timestamp.BadRequest:
		return "badRequest"
	case timestamp.BadDataFormat:
		return "badDataFormat"
	case timestamp.TimeNotAvailable:
		return "timeNotAvailable"
	case timestamp.UnacceptedPolicy:
		return "unacceptedPolicy"
	case timestamp.UnacceptedExtension:
		return "unacceptedExtension"
	case timestamp.AddInfoNotAvailable:
		return "addInfoNotAvailable"
	}
	return "systemFailure"
}

func (m *Metrics) observe(start time.Time, issued bool, reason string) {
	if m == nil {
		return
	}
	m.latency.Observe(time.Since(start).Seconds())
	if issued {
		m.issued.Inc()
	} else {
		m.refused.WithLabelValues(reason).Inc()
	}
}

// Reserved records one durable serial reservation of n serials that took d; pass it as
// SerialOptions.Reserved.
func (m *Metrics) Reserved(n uint64, d time.Duration) {
	if m == nil {
		return
	}
	m.reservations.Inc()
	m.reserved.Add(float64(n))
	m.reserveTime.Observe(d.Seconds())
}
