package reports

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// junitSuite is the JUnit XML most CI systems read: one suite for the run,
// one case per check.
type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// junitExamplesMax bounds the violations spelled out in a failure: CI
// pages show the text whole, and the HTML page has the rest.
const junitExamplesMax = 5

func renderJUnit(r *Report) ([]byte, error) {
	suite := junitSuite{
		Name:      fmt.Sprintf("chatlab.chaos.%s", r.Scenario),
		Tests:     len(r.Checks),
		Time:      seconds(r.WallMs),
		Timestamp: r.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"scenario", r.Scenario}, {"target", r.Target}, {"seed", strconv.FormatUint(r.Seed, 10)},
			{"delivery", r.Delivery}, {"verdict", string(r.Verdict)}, {"command", r.Command},
			{"run_id", r.RunID}, {"trace_hash", r.TraceHash},
		},
	}
	classname := fmt.Sprintf("chatlab.%s.%s", r.Scenario, r.Target)
	for _, check := range r.Checks {
		c := junitCase{Name: check.Name, Classname: classname, Time: "0", SystemOut: check.Detail}
		if !check.OK {
			suite.Failures++
			c.Failure = &junitFailure{Message: failureMessage(check), Type: "violation", Text: failureText(r, check)}
		}
		suite.Cases = append(suite.Cases, c)
	}
	data, err := xml.MarshalIndent(suite, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("reports: junit: %w", err)
	}
	return append([]byte(xml.Header), append(data, '\n')...), nil
}

func failureMessage(check Check) string {
	if check.Expect == "break" {
		return fmt.Sprintf("%s was expected to break and held: %s", check.Name, check.Detail)
	}
	return fmt.Sprintf("%s: %d violations: %s", check.Name, check.Violations, check.Detail)
}

// failureText is the detail, the first violations with their operations,
// and the command that replays the run.
func failureText(r *Report, check Check) string {
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n", check.Detail)
	for i, example := range check.Examples {
		if i == junitExamplesMax {
			fmt.Fprintf(&text, "... and %d more in index.html\n", len(check.Examples)-junitExamplesMax)
			break
		}
		fmt.Fprintf(&text, "\n- %s\n", example.Message)
		for _, op := range example.Operations {
			fmt.Fprintf(&text, "    %s\n", describeOperation(op))
		}
	}
	fmt.Fprintf(&text, "\nreplay: %s\n", r.Command)
	return text.String()
}

// describeOperation is one operation on one line.
func describeOperation(op Operation) string {
	parts := []string{fmt.Sprintf("%8s", runTime(op.AtMs)), op.Client, op.Kind}
	if op.Room != "" {
		parts = append(parts, "room="+op.Room)
	}
	if op.Seq != 0 {
		parts = append(parts, "seq="+strconv.FormatUint(op.Seq, 10))
	}
	if op.ID != "" {
		parts = append(parts, "id="+op.ID)
	}
	if op.Node != "" {
		parts = append(parts, "node="+op.Node)
	}
	if op.Detail != "" {
		parts = append(parts, op.Detail)
	}
	return strings.Join(parts, " ")
}

func seconds(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64) }

// runTime formats a time of the run as seconds, e.g. "8.250s".
func runTime(ms int64) string { return seconds(ms) + "s" }
