package kafka_test

import (
	"os"
	"testing"
)

func BenchmarkZZSDKOnly(b *testing.B) {
	brokers := testBrokers(b)
	adm := admin(b, brokers)
	b.StopTimer()
	var d, cpu float64
	if os.Getenv("ZZBARE") != "" {
		dd, c := runBare(b, brokers, adm, 4, false)
		d, cpu = dd.Seconds(), c.Seconds()
	} else {
		dd, c := runSDK(b, brokers, adm, 4, true)
		d, cpu = dd.Seconds(), c.Seconds()
	}
	b.ReportMetric(float64(b.N)/d, "msgs/s")
	b.ReportMetric(cpu*1e6/float64(b.N), "cpu-µs/msg")
}
