// Package pipeline holds the ecr-ptc use cases as plain functions: a Session built once per command (AWS
// configuration and credential source, the ECR client, the logins, the cache registry, the rules listed
// at most once, the mapper) and, over it, setup and warm (probe, warm, report), lock, ensure rules, the
// doctor's checks and the mapping of scanned image uses. It never reads the environment and never
// prints: the command line (shared/internal/cli) reads flags and variables, passes values in, and prints
// what comes back, including progress through the callbacks the options carry.
package pipeline
