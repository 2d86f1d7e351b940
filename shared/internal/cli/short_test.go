package cli_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines bounds every function of the command line and the pipeline (func literals included, from
// `{` to `}`): a command parses flags, calls one use case and prints, and a use case that outgrows this
// is two.
const maxFuncLines = 59

func TestFunctionsAreShort(t *testing.T) {
	for _, dir := range []string{".", "../pipeline"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		fset := token.NewFileSet()
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(af, func(n ast.Node) bool {
				name, body := "a func literal", (*ast.BlockStmt)(nil)
				switch x := n.(type) {
				case *ast.FuncDecl:
					name, body = x.Name.Name, x.Body
				case *ast.FuncLit:
					body = x.Body
				}
				if body != nil {
					start, end := fset.Position(body.Lbrace), fset.Position(body.Rbrace)
					if lines := end.Line - start.Line + 1; lines > maxFuncLines {
						t.Errorf("%s:%d: %s is %d lines; split it (at most %d)", f, start.Line, name, lines, maxFuncLines)
					}
				}
				return true
			})
		}
	}
}
