package sandbox

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// StatsTokenHeader is how a client of the stats and faults endpoint presents ECR_PTC_SANDBOX_TOKEN:
// "Authorization: Bearer <token>".
const StatsTokenHeader = "Authorization"

// requireToken answers 401 unless the request carries the sandbox's control token.
func requireToken(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get(StatsTokenHeader), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			http.Error(w, "the sandbox's stats and faults need Authorization: Bearer $ECR_PTC_SANDBOX_TOKEN", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
