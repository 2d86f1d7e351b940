// Package dockerfile finds every image a Dockerfile pulls, exactly as BuildKit v0.34.2 evaluates it, and
// rewrites those references to pull through a cache.
//
// Meaning always comes from BuildKit itself: its parser (directives, escape token, heredocs), its
// instruction model and its shell lexer. Analyze mirrors dockerfile2llb's toDispatchState step by step:
// global ARGs with the default platform args and --build-arg overrides (buildMetaArgs), base names expanded
// with global args only, stage lookup by lower-cased name, COPY --from and RUN --mount sources (toCommand,
// detectRunMount), reachability from the target (allReachableStages), ONBUILD triggers of stages built on
// other stages of the same file, and the dependency-order checks BuildKit makes before it pulls.
// ONBUILD triggers that come from a base image's config cannot be known without fetching that config: they
// are reported where they are written, not resolved.
//
// Rewrite edits bytes, never regenerates lines. A small locator maps BuildKit's tokens back to byte offsets
// (replaying the parser's line joining and flag splitting) and every located token is checked against what
// BuildKit parsed; a reference that cannot be located exactly is left alone and reported. Heredoc bodies
// and comments are never touched. Every stage is rewritten, not only the target's, so the output can be
// built with any --target.
//
// References that use ARGs are rewritten as follows:
//
//   - Repository literal, tag or digest from ARGs (FROM node:${NODE_VERSION}): only the literal
//     repository text is replaced by the cache repository, keeping ":${NODE_VERSION}", so the same
//     --build-arg still works. The repository must be complete before the first variable and the
//     mapper must keep the tag and digest.
//   - The whole reference is one global ARG (FROM $BASE, FROM ${BASE}, FROM ${BASE:-x}) whose effective
//     default is a literal reference declared before the first FROM (ARG BASE=node:20): that ARG's
//     default is rewritten in place. A --build-arg BASE=... override bypasses the cache unless it names
//     a cache reference; the Change says so. The ARG must not be used any other way before the first
//     stage's instructions (in other global ARG defaults, in --platform, or inside a larger base name).
//   - Anything else (the repository is built from ARGs): left unchanged, with a Change whose To is ""
//     and whose Note says why.
//
// ONBUILD triggers are never rewritten: they also run in other people's builds, which may not be able
// to pull from the cache. They are reported as unchanged.
//
// The package reads no environment variables and prints nothing; every failure is an *Error.
package dockerfile

import "fmt"

// DefaultBuildPlatform is the build platform used when Options.BuildPlatform is empty. It is fixed,
// not the machine's, so that results do not depend on where the analysis runs.
const DefaultBuildPlatform = "linux/amd64"

// Options are the build settings that decide which images a build pulls.
type Options struct {
	// BuildArgs are --build-arg values. They override global ARG defaults and, as in BuildKit, the
	// default platform args (BUILDPLATFORM, TARGETPLATFORM, TARGETARCH, TARGETSTAGE, ...).
	BuildArgs map[string]string
	// Target is the --target stage; "" means the last stage.
	Target string
	// Platform is the --platform target platform, e.g. "linux/arm64"; "" means the build platform.
	Platform string
	// BuildPlatform is the BuildKit worker's platform; "" means DefaultBuildPlatform.
	BuildPlatform string
	// AllStages analyses every stage, not only those the target needs.
	AllStages bool
}

// ImageUse is one place where the build pulls (or, for ONBUILD, would pull) an image.
type ImageUse struct {
	File string `json:"file"`
	// Line is the 1-based line of the instruction; for "syntax" the line of the directive, 0 when the
	// frontend comes from the BUILDKIT_SYNTAX build arg.
	Line int `json:"line"`
	// Instruction is "FROM", "COPY --from", "RUN --mount", "syntax", "ONBUILD" (a trigger as written:
	// reported, not resolved), or "ONBUILD COPY --from" / "ONBUILD RUN --mount" (a trigger of a stage
	// that a later stage of the same file builds on: BuildKit runs it, so it is a real pull; Line is the
	// ONBUILD line and Stage the stage that runs it).
	Instruction string `json:"instruction"`
	// Stage is the stage name, "stage-N" for an unnamed stage (as BuildKit names it), "" for syntax.
	Stage string `json:"stage"`
	// Raw is the reference as written, before ARG expansion (e.g. "node:${NODE_VERSION}").
	Raw string `json:"raw"`
	// Ref is the normalised evaluated reference (see imageref.Normalize); "" when Error is set.
	Ref string `json:"ref"`
	// Platform is the evaluated --platform of the FROM, if any, normalised.
	Platform string `json:"platform,omitempty"`
	// PullPlatform is the platform BuildKit asks the registry for: the FROM's --platform, else the
	// target platform. Empty for syntax and ONBUILD.
	PullPlatform string `json:"pullPlatform,omitempty"`
	// Args are the names of the ARGs the expansion used, sorted.
	Args []string `json:"args,omitempty"`
	// Error says why the reference is unusable, with file:line. An invalid reference is reported even
	// in a stage the target does not need, because BuildKit rejects it there too.
	Error string `json:"error,omitempty"`
	// Note explains a use that is reported but not resolved.
	Note string `json:"note,omitempty"`
}

// StageInfo describes one build stage.
type StageInfo struct {
	Index int    `json:"index"`
	Name  string `json:"name,omitempty"` // as declared (BuildKit lower-cases it); "" when unnamed
	ID    string `json:"id"`             // Name, or "stage-N" when unnamed
	Line  int    `json:"line"`
	// BaseRaw is the FROM argument as written; Base is it evaluated with the global ARGs.
	BaseRaw string `json:"baseRaw"`
	Base    string `json:"base"`
	// BaseStage is the ID of the earlier stage this one builds on, if any.
	BaseStage string `json:"baseStage,omitempty"`
	// BaseRef is the normalised image the stage starts from, when it starts from an image.
	BaseRef  string `json:"baseRef,omitempty"`
	Scratch  bool   `json:"scratch,omitempty"`
	Platform string `json:"platform,omitempty"` // evaluated --platform, normalised
	Needed   bool   `json:"needed"`             // the target needs it (or it is the target)
	Target   bool   `json:"target,omitempty"`
}

// Analysis is what Analyze found in one Dockerfile.
type Analysis struct {
	File   string      `json:"file"`
	Syntax string      `json:"syntax,omitempty"` // the frontend image from # syntax= (or BUILDKIT_SYNTAX), "" if none
	Target string      `json:"target"`           // ID of the target stage
	Stages []StageInfo `json:"stages"`
	// Images is in file order, the syntax frontend first. It holds only stages the target needs unless
	// Options.AllStages is set (invalid references excepted, see ImageUse.Error).
	Images []ImageUse `json:"images"`
}

// Error is a Dockerfile that BuildKit would reject, or options it cannot use.
type Error struct {
	File string
	Line int // 1-based; 0 when the error has no line
	Msg  string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Mapper returns the cache reference for a normalised reference; ok=false leaves it as it is. It must
// refuse references that already point at the cache, which makes Rewrite idempotent.
type Mapper func(normalizedRef string) (cacheRef string, ok bool)

// Change is one rewritten (or deliberately unchanged) reference.
type Change struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	Instruction string `json:"instruction"` // as in ImageUse, or "ARG" for a rewritten ARG default
	From        string `json:"from"`        // the text as written
	To          string `json:"to"`          // the new text; "" when left unchanged
	Note        string `json:"note,omitempty"`
}
