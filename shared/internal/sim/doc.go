// Package sim measures what the pull-through cache changes for a fleet of builds: against the sandbox's
// Docker Hub stand-in (rate limit and all), it runs many builds' base-image pulls once straight from the
// upstream and once through the cache, and counts failures, upstream fetches, digests per environment
// and pull time. All of it is test code (the simulations are what `make bench` prints), so no binary
// links it.
package sim
