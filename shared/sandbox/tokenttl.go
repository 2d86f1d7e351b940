package sandbox

import "time"

// SetTokenTTL makes GetAuthorizationToken issue registry tokens valid for ttl instead of ECR's 12 hours
// (reference: "GetAuthorizationToken: ... valid 12 h"); 0 restores 12 hours. AWS has no such setting: it
// lets tests see a token expire in the middle of a run (the registry then answers 401 DENIED "Your
// authorization token has expired", as ECR does) without waiting half a day.
func (s *Store) SetTokenTTL(ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = ttl
}

func (s *Store) authTokenTTL() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokenTTL > 0 {
		return s.tokenTTL
	}
	return authTokenTTL
}
