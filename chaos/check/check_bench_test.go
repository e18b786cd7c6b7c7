package check

import (
	"fmt"
	"testing"
)

// BenchmarkCheckHistory checks a synthetic run of 100 clients in one room,
// where 1,000 messages each reach all 100: about 102,000 records.
func BenchmarkCheckHistory(b *testing.B) {
	const clients, messages = 100, 1000
	names := make([]string, clients)
	for i := range names {
		names[i] = fmt.Sprintf("c%03d", i)
	}
	h := cleanRoom(names, messages).h
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		checks, _ := CheckHistory(h, CheckOptions{})
		for _, c := range checks {
			if !c.OK || c.Detail == "" {
				b.Fatalf("%+v", c)
			}
		}
	}
	b.ReportMetric(float64(len(h))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(len(h)), "records")
}
