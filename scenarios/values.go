package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// parser reads one file's YAML tree. Every error names the file and the
// line of the node at fault.
type parser struct {
	file string
}

func (p *parser) errorf(node *yaml.Node, format string, args ...any) error {
	line := 0
	if node != nil {
		line = node.Line
	}
	return &ParseError{File: p.file, Line: line, Message: fmt.Sprintf(format, args...)}
}

// fields is a mapping whose keys were checked against an allowed list.
type fields struct {
	node   *yaml.Node
	values map[string]*yaml.Node
}

// mapping checks that node is a mapping whose keys are all allowed and
// none repeats. what names it in messages ("workload", "fault 2").
func (p *parser) mapping(node *yaml.Node, what string, allowed []string) (fields, error) {
	if node.Kind != yaml.MappingNode {
		return fields{}, p.errorf(node, "%s: want keys and values (a mapping), got %s", what, describe(node))
	}
	f := fields{node: node, values: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			return fields{}, p.errorf(key, "%s: a key must be a plain word, got %s", what, describe(key))
		}
		if !slices.Contains(allowed, key.Value) {
			return fields{}, p.errorf(key, "%s: %s", what, unknownWord("key", key.Value, allowed))
		}
		if previous, ok := f.values[key.Value]; ok {
			return fields{}, p.errorf(key, "%s: key '%s' repeats (first given at line %d)", what, key.Value, previous.Line)
		}
		if value.Kind == yaml.AliasNode {
			return fields{}, p.errorf(value, "%s: '%s': anchors and aliases are not supported; write the value out", what, key.Value)
		}
		f.values[key.Value] = value
	}
	return f, nil
}

// require fails when key is missing; why says what the key is for.
func (p *parser) require(f fields, what, key, why string) error {
	if _, ok := f.values[key]; !ok {
		return p.errorf(f.node, "%s: missing '%s' (%s)", what, key, why)
	}
	return nil
}

func describe(node *yaml.Node) string {
	switch node.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if node.Value == "" || node.ShortTag() == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("'%s'", node.Value)
	}
	return "a document"
}

func (p *parser) scalar(node *yaml.Node, what string) (string, error) {
	if node.Kind != yaml.ScalarNode || node.ShortTag() == "!!null" {
		return "", p.errorf(node, "%s: want a value, got %s", what, describe(node))
	}
	return node.Value, nil
}

// text reads a non-empty string.
func (p *parser) text(node *yaml.Node, what string) (string, error) {
	value, err := p.scalar(node, what)
	if err != nil {
		return "", err
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return "", p.errorf(node, "%s: must not be empty", what)
	}
	return value, nil
}

// word reads one of allowed, suggesting the closest on a typo.
func (p *parser) word(node *yaml.Node, what string, allowed []string) (string, error) {
	value, err := p.scalar(node, what)
	if err != nil {
		return "", err
	}
	if !slices.Contains(allowed, value) {
		return "", p.errorf(node, "%s: %s", what, unknownWord("value", value, allowed))
	}
	return value, nil
}

// integer reads a whole number in [low, high].
func (p *parser) integer(node *yaml.Node, what string, low, high int) (int, error) {
	value, err := p.scalar(node, what)
	if err != nil {
		return 0, err
	}
	number, err := strconv.Atoi(value)
	if err != nil || node.ShortTag() != "!!int" {
		return 0, p.errorf(node, "%s: '%s' is not a whole number", what, value)
	}
	if number < low || number > high {
		return 0, p.errorf(node, "%s: %d is out of range; want %d to %d", what, number, low, high)
	}
	return number, nil
}

// number reads a decimal number in [low, high].
func (p *parser) number(node *yaml.Node, what string, low, high float64) (float64, error) {
	value, err := p.scalar(node, what)
	if err != nil {
		return 0, err
	}
	number, err := strconv.ParseFloat(value, 64)
	if err != nil || (node.ShortTag() != "!!int" && node.ShortTag() != "!!float") || math.IsNaN(number) {
		return 0, p.errorf(node, "%s: '%s' is not a number", what, value)
	}
	if number < low || number > high {
		return 0, p.errorf(node, "%s: %v is out of range; want %v to %v", what, number, low, high)
	}
	return number, nil
}

func (p *parser) boolean(node *yaml.Node, what string) (bool, error) {
	value, err := p.scalar(node, what)
	if err != nil {
		return false, err
	}
	switch {
	case node.ShortTag() == "!!bool" && value == "true":
		return true, nil
	case node.ShortTag() == "!!bool" && value == "false":
		return false, nil
	}
	return false, p.errorf(node, "%s: '%s' is not true or false", what, value)
}

// duration reads "30s", "1.5s", "500ms", "2m" in [0, high]. A bare number
// is refused: its unit would be a guess.
func (p *parser) duration(node *yaml.Node, what string, high time.Duration) (time.Duration, error) {
	value, err := p.scalar(node, what)
	if err != nil {
		return 0, err
	}
	duration, err := time.ParseDuration(value)
	if err != nil || node.ShortTag() != "!!str" {
		return 0, p.errorf(node, "%s: bad duration '%s'; want a number with a unit, e.g. 30s, 1.5s, 500ms", what, value)
	}
	if duration < 0 || duration > high {
		return 0, p.errorf(node, "%s: %s is out of range; want 0s to %s", what, value, high)
	}
	return duration, nil
}

var ratePattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*/\s*(s|min|h)$`)

var rateUnits = map[string]float64{"s": 1, "min": 60, "h": 3600}

// rate reads "2/s", "0.5/s", "30/min" or "1/h" as events per second, in
// [0, high].
func (p *parser) rate(node *yaml.Node, what string, high Rate) (Rate, error) {
	value, err := p.scalar(node, what)
	if err != nil {
		return 0, err
	}
	match := ratePattern.FindStringSubmatch(value)
	if match == nil {
		return 0, p.errorf(node, "%s: bad rate '%s'; want a count per time, e.g. 2/s, 0.5/s, 30/min", what, value)
	}
	count, err := strconv.ParseFloat(match[1], 64)
	if err != nil {
		return 0, p.errorf(node, "%s: bad rate '%s': %v", what, value, err)
	}
	rate := Rate(count / rateUnits[match[2]])
	if rate > high {
		return 0, p.errorf(node, "%s: %s is more than %v/s", what, value, float64(high))
	}
	return rate, nil
}

// list reads a sequence of at most high items.
func (p *parser) list(node *yaml.Node, what string, high int) ([]*yaml.Node, error) {
	if node.Kind != yaml.SequenceNode {
		return nil, p.errorf(node, "%s: want a list, got %s", what, describe(node))
	}
	if len(node.Content) > high {
		return nil, p.errorf(node, "%s: %d items; the limit is %d", what, len(node.Content), high)
	}
	for _, item := range node.Content {
		if item.Kind == yaml.AliasNode {
			return nil, p.errorf(item, "%s: anchors and aliases are not supported; write the value out", what)
		}
	}
	return node.Content, nil
}
