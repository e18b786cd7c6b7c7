package sim

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The sans-IO packages: what runs inside the simulator must not reach for
// the wall clock, global randomness, goroutines or channels, and must not
// let map order reach its output (docs/DESIGN.md, "The core is sans-IO").
var purePackages = []string{"system/protocol", "system/node", "system/client", "system/balance",
	"system/broker/redisscript", "sim"}

// forbiddenDependencies bring I/O, concurrency or hidden randomness: none
// may be among the pure packages' dependencies, even indirectly.
var forbiddenDependencies = []string{"net", "net/http", "os/exec", "os/signal", "crypto/rand", "math/rand",
	"context", "plugin", "chatlab/chaos", "chatlab/loadgen", "chatlab/reports"}

// allowedImports are the standard packages a pure package may import
// directly; os, sync and time-driven packages are not among them ("time"
// is, for its types and arithmetic; the scan bans its clock functions).
var allowedImports = []string{"bytes", "cmp", "embed", "encoding/binary", "encoding/json", "errors", "fmt", "hash/fnv",
	"math", "math/bits", "math/rand/v2", "path", "slices", "sort", "strconv", "strings", "time", "unicode/utf8"}

// clockFunctions read or wait on the wall clock.
var clockFunctions = []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick"}

// randomConstructors are the math/rand/v2 functions that build an
// injected source; every other package-level function draws from the
// global one.
var randomConstructors = []string{"New", "NewPCG", "NewChaCha8", "NewZipf"}

// mapOrderComment marks a range over a map whose order cannot reach
// output; the comment must say why, on the range line or the line above.
const mapOrderComment = "// map order:"

func moduleRoot(t *testing.T) string {
	t.Helper()
	output, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(output)))
}

func goList(t *testing.T, root string, args ...string) []string {
	t.Helper()
	command := exec.Command("go", append([]string{"list", "-e"}, args...)...)
	command.Dir = root
	var stderr bytes.Buffer
	command.Stderr = &stderr
	output, err := command.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	return strings.Fields(string(output))
}

// sandboxedImports are libraries a pure package may use although they
// could reach I/O, because it holds them to a deterministic subset: the
// simulator runs the broker's Lua scripts in gopher-lua with only the base,
// table and string libraries open (no os, io, math.random; no SetContext,
// no SetMx), and cjson only encodes and decodes. Their own dependencies are
// not held against the package; redis_lua.go is where the subset is kept.
var sandboxedImports = []string{"github.com/yuin/gopher-lua", "github.com/yuin/gopher-lua/parse",
	"github.com/alicebob/miniredis/v2/gopher-json"}

// dependencies lists what path depends on, without looking inside the
// sandboxed imports.
func dependencies(t *testing.T, root, path string) []string {
	t.Helper()
	imports := map[string][]string{}
	for _, line := range goList(t, root, "-deps", "-f", `{{.ImportPath}}:{{join .Imports ","}}`, path) {
		name, list, _ := strings.Cut(line, ":")
		if list != "" {
			imports[name] = strings.Split(list, ",")
		}
	}
	seen := map[string]bool{path: true}
	queue := []string{path}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		if slices.Contains(sandboxedImports, next) {
			continue
		}
		for _, imported := range imports[next] {
			if !seen[imported] {
				seen[imported] = true
				queue = append(queue, imported)
			}
		}
	}
	found := make([]string, 0, len(seen))
	for name := range seen { // map order: sorted below
		found = append(found, name)
	}
	slices.Sort(found)
	return found
}

func TestPureDependencies(t *testing.T) {
	root := moduleRoot(t)
	for _, pkg := range purePackages {
		path := "chatlab/" + pkg
		for _, dependency := range dependencies(t, root, path) {
			if slices.Contains(forbiddenDependencies, dependency) {
				t.Errorf("%s depends on %s", path, dependency)
			}
		}
		for _, imported := range goList(t, root, "-f", `{{join .Imports " "}}`, path) {
			if !strings.HasPrefix(imported, "chatlab/system/") && !slices.Contains(allowedImports, imported) &&
				!slices.Contains(sandboxedImports, imported) {
				t.Errorf("%s imports %s, which is not on the sans-IO list", path, imported)
			}
			if pkg == "system/protocol" && strings.HasPrefix(imported, "chatlab/") {
				t.Errorf("system/protocol imports %s; it may use the standard library only", imported)
			}
		}
	}
}

func TestImportDirection(t *testing.T) {
	root := moduleRoot(t)
	for _, line := range goList(t, root, "-deps", "-f", `{{.ImportPath}}`, "./system/...") {
		for _, forbidden := range []string{"chatlab/sim", "chatlab/chaos", "chatlab/loadgen", "chatlab/reports"} {
			if line == forbidden || strings.HasPrefix(line, forbidden+"/") {
				t.Errorf("a package under system/ depends on %s (imports run one way: docs/DESIGN.md, section Imports)", line)
			}
		}
	}
}

func TestPureSource(t *testing.T) {
	root := moduleRoot(t)
	checker := newSourceChecker(root)
	for _, pkg := range purePackages {
		for _, problem := range checker.scan(pkg) {
			t.Error(problem)
		}
	}
}

// sourceChecker type-checks the pure packages from source (so that a
// range can be seen to be over a map) and scans their syntax.
type sourceChecker struct {
	root     string
	fset     *token.FileSet
	packages map[string]*checkedPackage
	standard types.Importer
}

type checkedPackage struct {
	types *types.Package
	files []*ast.File
	info  *types.Info
}

func newSourceChecker(root string) *sourceChecker {
	fset := token.NewFileSet()
	return &sourceChecker{root: root, fset: fset, packages: map[string]*checkedPackage{},
		standard: importer.ForCompiler(fset, "source", nil)}
}

// Import makes the checker a types.Importer: module packages from source,
// the standard library through the source importer.
func (s *sourceChecker) Import(path string) (*types.Package, error) {
	if rel, ok := strings.CutPrefix(path, "chatlab/"); ok {
		checked, err := s.check(rel)
		if err != nil {
			return nil, err
		}
		return checked.types, nil
	}
	return s.standard.Import(path)
}

func (s *sourceChecker) check(rel string) (*checkedPackage, error) {
	if checked := s.packages[rel]; checked != nil {
		return checked, nil
	}
	dir := filepath.Join(s.root, rel)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, entry := range entries {
		name := entry.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(s.fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, file)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	config := types.Config{Importer: s}
	pkg, err := config.Check("chatlab/"+rel, s.fset, files, info)
	if err != nil {
		return nil, err
	}
	checked := &checkedPackage{types: pkg, files: files, info: info}
	s.packages[rel] = checked
	return checked, nil
}

func (s *sourceChecker) scan(rel string) []string {
	checked, err := s.check(rel)
	if err != nil {
		return []string{fmt.Sprintf("%s: type check: %v", rel, err)}
	}
	var problems []string
	for _, file := range checked.files {
		commented := map[int]bool{}
		for _, group := range file.Comments {
			for _, comment := range group.List {
				if strings.HasPrefix(comment.Text, mapOrderComment) && len(strings.TrimSpace(strings.TrimPrefix(comment.Text, mapOrderComment))) > 0 {
					commented[s.fset.Position(comment.Pos()).Line] = true
				}
			}
		}
		report := func(node ast.Node, format string, args ...any) {
			problems = append(problems, s.fset.Position(node.Pos()).String()+": "+fmt.Sprintf(format, args...))
		}
		ast.Inspect(file, func(node ast.Node) bool {
			switch n := node.(type) {
			case *ast.GoStmt:
				report(n, "go statement")
			case *ast.ChanType:
				report(n, "channel type")
			case *ast.SendStmt:
				report(n, "channel send")
			case *ast.SelectStmt:
				report(n, "select statement")
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					report(n, "channel receive")
				}
			case *ast.CallExpr:
				s.checkCall(checked, n, report)
			case *ast.RangeStmt:
				if _, isMap := checked.info.Types[n.X].Type.Underlying().(*types.Map); isMap {
					line := s.fset.Position(n.Pos()).Line
					if !commented[line] && !commented[line-1] {
						report(n, "range over a map without a %q comment saying why its order cannot reach output", mapOrderComment)
					}
				}
			}
			return true
		})
	}
	slices.Sort(problems)
	return problems
}

func (s *sourceChecker) checkCall(checked *checkedPackage, call *ast.CallExpr, report func(ast.Node, string, ...any)) {
	selector, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return
	}
	ident, ok := selector.X.(*ast.Ident)
	if !ok {
		return
	}
	name, ok := checked.info.Uses[ident].(*types.PkgName)
	if !ok {
		return
	}
	switch path := name.Imported().Path(); path {
	case "time":
		if slices.Contains(clockFunctions, selector.Sel.Name) {
			report(call, "time.%s reads the wall clock", selector.Sel.Name)
		}
	case "math/rand", "math/rand/v2":
		if !slices.Contains(randomConstructors, selector.Sel.Name) {
			report(call, "%s.%s draws from the global source; inject one", strconv.Quote(path), selector.Sel.Name)
		}
	}
}

// TestPureSourceCatchesViolations proves the scan is not blind: a package
// with one of each forbidden construct yields one problem each.
func TestPureSourceCatchesViolations(t *testing.T) {
	root := t.TempDir()
	source := `package bad

import (
	"math/rand/v2"
	"time"
)

func everything(m map[string]int) []string {
	go func() {}()
	c := make(chan int)
	c <- 1
	<-c
	select {}
	_ = time.Now()
	_ = rand.IntN(3)
	_ = rand.New(rand.NewPCG(1, 2)) // allowed: an injected source
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	for k := range m { // map order: allowed, it says why
		_ = k
	}
	return keys
}
`
	if err := os.MkdirAll(filepath.Join(root, "bad"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bad", "bad.go"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	problems := newSourceChecker(root).scan("bad")
	wanted := []string{"go statement", "channel type", "channel send", "channel receive", "select statement",
		"time.Now", "rand/v2\".IntN", "range over a map"}
	for _, want := range wanted {
		found := 0
		for _, problem := range problems {
			if strings.Contains(problem, want) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%q flagged %d times, want once; problems: %q", want, found, problems)
		}
	}
	if len(problems) != len(wanted) {
		t.Errorf("%d problems, want %d: %q", len(problems), len(wanted), problems)
	}
}
