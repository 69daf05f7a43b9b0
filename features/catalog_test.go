package features

import (
	"flag"
	"os"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite CATALOG.md")

func TestCatalogIsCurrent(t *testing.T) {
	cases, err := Catalog(FS)
	if err != nil {
		t.Fatal(err)
	}
	want := CatalogMarkdown(cases)
	if *update {
		if err := os.WriteFile("CATALOG.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("CATALOG.md")
	if err != nil || string(got) != want {
		t.Fatalf("features/CATALOG.md is stale: run go test ./features -update")
	}
}

func TestEveryChecklistItemIsCovered(t *testing.T) {
	cases, err := Catalog(FS)
	if err != nil {
		t.Fatal(err)
	}
	if missing := UncoveredChecklist(cases); len(missing) > 0 {
		t.Errorf("checklist items without a case: %v", missing)
	}
}

func TestCatalogRejectsBadTags(t *testing.T) {
	for name, feature := range map[string]string{
		"missing id":    "Feature: F\n  @must\n  Scenario: s\n    Given x\n",
		"duplicate id":  "Feature: F\n  @id:A-001 @must\n  Scenario: s\n    Given x\n  @id:A-001 @must\n  Scenario: t\n    Given x\n",
		"no level":      "Feature: F\n  @id:A-001\n  Scenario: s\n    Given x\n",
		"two levels":    "Feature: F\n  @id:A-001 @must @should\n  Scenario: s\n    Given x\n",
		"bad checklist": "Feature: F\n  @id:A-001 @must @checklist:14\n  Scenario: s\n    Given x\n",
	} {
		fsys := fstest.MapFS{"x.feature": {Data: []byte(feature)}}
		if _, err := Catalog(fsys); err == nil {
			t.Errorf("%s: Catalog accepted it", name)
		}
	}
}
