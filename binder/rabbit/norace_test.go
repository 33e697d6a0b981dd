//go:build !race

package rabbit_test

const raceDetector = false
