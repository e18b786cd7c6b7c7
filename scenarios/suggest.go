package scenarios

import (
	"fmt"
	"strings"
)

// suggestDistanceMax is the largest edit distance still offered as "did
// you mean": beyond it a suggestion is more confusing than none.
const suggestDistanceMax = 2

// closest returns the candidate nearest to word, or "" when none is within
// suggestDistanceMax edits (and within a third of the word's length, so
// that "at" is not "fixed" into "to").
func closest(word string, candidates []string) string {
	best, bestDistance := "", suggestDistanceMax+1
	for _, candidate := range candidates {
		distance := editDistance(strings.ToLower(word), candidate)
		if distance < bestDistance && distance*3 <= max(len(word), len(candidate)) {
			best, bestDistance = candidate, distance
		}
	}
	return best
}

// unknownWord is the message for a word that is none of the allowed ones:
// the allowed list, and the closest one if any.
func unknownWord(kind, word string, allowed []string) string {
	message := fmt.Sprintf("unknown %s '%s'", kind, word)
	if suggestion := closest(word, allowed); suggestion != "" {
		message += fmt.Sprintf(" (did you mean '%s'?)", suggestion)
	}
	return message + "; allowed: " + strings.Join(allowed, ", ")
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours each cost one,
// so the common typo "clinets" is one edit from "clients".
func editDistance(a, b string) int {
	previous2 := make([]int, len(b)+1)
	previous := make([]int, len(b)+1)
	current := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				current[j] = min(current[j], previous2[j-2]+1)
			}
		}
		previous2, previous, current = previous, current, previous2
	}
	return previous[len(b)]
}
