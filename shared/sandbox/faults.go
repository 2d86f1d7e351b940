package sandbox

import (
	"strings"
	"sync"
)

// Fault kinds the sandbox can inject. Which targets accept which kinds is up to the component that
// consults the fault list; unknown combinations are ignored.
const (
	FaultThrottle      = "throttle"       // ECR ThrottlingException / STS Throttling (HTTP 400)
	FaultServerError   = "5xx"            // HTTP 500 ServerException / InternalFailure / registry 500
	FaultTimeout       = "timeout"        // hold the request until the client gives up (at most 30 s)
	FaultIDP           = "idp"            // STS IDPCommunicationError
	FaultExpiredToken  = "expired-token"  // STS ExpiredTokenException
	FaultTooMany       = "429"            // upstream 429 TOOMANYREQUESTS
	FaultLimitExceeded = "limit-exceeded" // ECR LimitExceededException
)

// Fault is one injected failure. Target names what it hits: "ecr:<Operation>" or "ecr:*",
// "sts:<Operation>" or "sts:*", "oidc:token", "oidc:jwks", "registry" (the cache data plane),
// "upstream:<name>" or "upstream:*" (name: docker-hub, github, quay, ecr-public).
type Fault struct {
	Target string `json:"target"`
	Kind   string `json:"kind"`
	// Count is how many requests it hits; 0 or less means every request until cleared.
	Count int `json:"count"`
}

// Faults is a concurrency-safe list of injected faults.
type Faults struct {
	mu   sync.Mutex
	list []*Fault
}

// Add injects a fault.
func (f *Faults) Add(fl Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fl
	f.list = append(f.list, &c)
}

// Clear removes every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = nil
}

// List returns the faults still active.
func (f *Faults) List() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Fault, 0, len(f.list))
	for _, fl := range f.list {
		out = append(out, *fl)
	}
	return out
}

// Take returns the first fault matching target ("ecr:DescribeImages" matches "ecr:DescribeImages" and
// "ecr:*") and uses up one of its hits.
func (f *Faults) Take(target string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	service, _, _ := strings.Cut(target, ":")
	for i, fl := range f.list {
		if fl.Target != target && fl.Target != service+":*" {
			continue
		}
		got := *fl
		if fl.Count > 0 {
			fl.Count--
			if fl.Count == 0 {
				f.list = append(f.list[:i], f.list[i+1:]...)
			}
		}
		return got, true
	}
	return Fault{}, false
}
