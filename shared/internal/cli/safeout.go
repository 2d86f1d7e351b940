package cli

import "io"

// commandGuard copies output to a GitHub Actions step log so that nothing ecr-ptc prints — a reference,
// a reason from a metadata file, a file name — can start a workflow command: the runner reads any stdout
// line that starts with "::" after leading spaces as one (::add-mask::, ::stop-commands::, ::error::).
// Such a line is printed with a leading backslash instead. ecr-ptc's own workflow commands go through
// the GitHub ciplatform.Platform's writer, never through this one.
type commandGuard struct {
	w     io.Writer
	state int // 0: only blanks so far on this line; 1: blanks then one ':'; 2: past the line's start
}

func (g *commandGuard) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+4)
	for _, c := range p {
		switch g.state {
		case 0:
			switch c {
			case ' ', '\t', '\n', '\r', '\v', '\f':
				out = append(out, c)
			case ':':
				g.state = 1
				continue
			default:
				out = append(out, c)
				g.state = 2
			}
		case 1:
			switch c {
			case ':':
				out = append(out, '\\', ':', ':')
				g.state = 2
			case '\n':
				out = append(out, ':', c)
				g.state = 0
			default:
				out = append(out, ':', c)
				g.state = 2
			}
		default:
			out = append(out, c)
			if c == '\n' {
				g.state = 0
			}
		}
	}
	if _, err := g.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// guardCommands wraps the output streams when the process runs in a GitHub Actions step.
func guardCommands(env Env) Env {
	if env.getenv("GITHUB_ACTIONS") != "true" {
		return env
	}
	if env.Stdout != nil {
		env.Stdout = &commandGuard{w: env.Stdout}
	}
	if env.Stderr != nil {
		env.Stderr = &commandGuard{w: env.Stderr}
	}
	return env
}
