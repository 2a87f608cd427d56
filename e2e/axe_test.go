//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// defaultAxeJS is where `npm ci` in e2e/axe puts axe-core (the version is
// pinned in e2e/axe/package.json); the tests run in the e2e directory.
const defaultAxeJS = "axe/node_modules/axe-core/axe.min.js"

// loadAxe reads axe-core's browser bundle from BOOKSMETA_AXE_JS or from
// e2e/axe/node_modules. Without it CI fails (CI=true: the accessibility
// check must not silently vanish) and a local run goes on without it,
// saying how to get it; "" means no accessibility check.
func loadAxe(t *testing.T) string {
	t.Helper()
	p := os.Getenv("BOOKSMETA_AXE_JS")
	if p == "" {
		p = defaultAxeJS
	}
	b, err := os.ReadFile(p)
	if err == nil && len(b) > 0 {
		return string(b)
	}
	msg := fmt.Sprintf("axe-core not found at %s (%v): run `npm ci --prefix e2e/axe` (the pinned version), or set BOOKSMETA_AXE_JS to axe.min.js", p, err)
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal(msg + "; CI needs the accessibility check")
	}
	t.Log(msg + "; the accessibility check is skipped")
	return ""
}

// axeViolation is the part of an axe-core result a person fixing it needs.
type axeViolation struct {
	ID, Impact, Help, HelpURL string
	Nodes                     []struct{ Target, Summary string }
}

// axeRun runs axe-core on the page as it is now, for the WCAG 2 A and AA
// rules, and returns the serious and critical violations.
const axeRun = `(async () => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}, resultTypes: ["violations"]});
  return {Rules: r.passes.length + r.violations.length, Violations: r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
    ID: v.id, Impact: v.impact, Help: v.help, HelpURL: v.helpUrl,
    Nodes: v.nodes.map(n => ({Target: n.target.join(" "), Summary: (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 300)}))
  }))};
})()`

// axeResult is what axeRun returns: Rules counts the rules that applied,
// so a run that checked nothing (axe not working on the page) is noticed.
type axeResult struct {
	Rules      int
	Violations []axeViolation
}

// checkAxe fails the test for every serious or critical axe violation on
// the current page, naming the rule, its help and the elements.
func checkAxe(t *testing.T, ctx context.Context, axeJS, where string) {
	t.Helper()
	if axeJS == "" {
		return
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		t.Fatalf("axe on %s: %v", where, err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeJS)); err != nil {
			t.Fatalf("inject axe-core into %s: %v", where, err)
		}
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", where, err)
	}
	if res.Rules < 10 {
		t.Fatalf("axe on %s applied only %d rules: it did not check the page", where, res.Rules)
	}
	vs := res.Violations
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n  %s (%s): %s — %s", v.ID, v.Impact, v.Help, v.HelpURL)
		for i, n := range v.Nodes {
			if i == 8 {
				fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-i)
				break
			}
			fmt.Fprintf(&b, "\n    %s: %s", n.Target, n.Summary)
		}
	}
	t.Errorf("accessibility (axe-core, WCAG 2 A/AA) on %s: %d serious or critical violation(s):%s", where, len(vs), b.String())
}

// screenshotDir is BOOKSMETA_SCREENSHOTS, or a fixed folder under the
// system's temporary directory, created if missing.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BOOKSMETA_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "booksmeta-e2e", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return dir
}

// saveScreenshot saves the whole page (beyond the viewport) as dir/name.png.
func saveScreenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
