package tsa

import (
	"crypto"
	"math/big"
	"testing"
)

// BenchmarkRespond is the authority's CPU cost per token, without HTTP.
func BenchmarkRespond(b *testing.B) {
	tt := newTestTSA(b, nil, func(c *Config) { c.Audit = nil })
	_, der := request(b, []byte("bench"), crypto.SHA256, big.NewInt(1234567), nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tt.a.Respond(der, "127.0.0.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
