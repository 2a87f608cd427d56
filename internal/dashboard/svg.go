package dashboard

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Bar is one column of a BarChart.
type Bar struct {
	Label string  // under the bar, e.g. "02.12" or "09"
	Value float64 // height, in the chart's units
	// Title is the tooltip and the spoken text of the bar, e.g.
	// "02.12.2026: 3 бронирования".
	Title string
	Mark  bool // drawn in the accent colour (today)
}

// BarChart is a small server-rendered SVG bar chart: no script, no
// external style, so it shows under the page's CSP and in any browser.
type BarChart struct {
	ID    string // unique on the page; the title and desc ids derive from it
	Title string
	Desc  string
	Bars  []Bar
	// Max is the top of the scale; below the largest value it is raised to it.
	Max float64
	// Unit follows the scale's numbers ("%" or "").
	Unit string
	// LabelEvery shows every n-th label (and the marked bar's), so labels
	// stay legible at 390 px; 0 or 1 shows all.
	LabelEvery int
}

// The drawing's own coordinate system; the page scales it to its width.
const (
	chartW      = 480
	chartH      = 200
	chartLeft   = 50 // room for the scale's numbers
	chartRight  = 6
	chartTop    = 10
	chartBottom = 28 // room for the labels
)

// SVG renders the chart. Every text is escaped; the result is one <svg>
// element with role=img, named by its <title> and described by its <desc>.
func (c BarChart) SVG() string {
	top := c.Max
	for _, b := range c.Bars {
		top = math.Max(top, b.Value)
	}
	if top <= 0 {
		top = 1
	}
	every := max(c.LabelEvery, 1)
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	base := float64(chartH - chartBottom)
	esc := html.EscapeString
	var sb strings.Builder
	tid, did := c.ID+"-title", c.ID+"-desc"
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s %s" preserveAspectRatio="xMidYMid meet">`,
		esc(c.ID), chartW, chartH, esc(tid), esc(did))
	fmt.Fprintf(&sb, `<title id="%s">%s</title><desc id="%s">%s</desc>`, esc(tid), esc(c.Title), esc(did), esc(c.Desc))
	// Scale: zero, half and top, each a faint line with its number.
	sb.WriteString(`<g class="grid" aria-hidden="true">`)
	for _, f := range []float64{0, 0.5, 1} {
		y := base - f*plotH
		fmt.Fprintf(&sb, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#c9ced6" stroke-width="1"/>`, chartLeft, num(y), chartW-chartRight, num(y))
		fmt.Fprintf(&sb, `<text x="%d" y="%s" text-anchor="end" font-size="13" fill="#4f5866">%s</text>`, chartLeft-4, num(y+4), esc(scaleText(f*top)+c.Unit))
	}
	sb.WriteString(`</g><g class="bars">`)
	n := max(len(c.Bars), 1)
	slot := plotW / float64(n)
	barW := slot * 0.72
	for i, b := range c.Bars {
		h := math.Max(b.Value, 0) / top * plotH
		x := float64(chartLeft) + float64(i)*slot + (slot-barW)/2
		class, fill := "bar", "#1f5fbf"
		if b.Mark {
			class, fill = "bar mark", "#c77c00"
			// A band behind the marked bar shows where today is even
			// when its bar has no height.
			fmt.Fprintf(&sb, `<rect class="band" x="%s" y="%d" width="%s" height="%s" fill="#fff4de" aria-hidden="true"/>`,
				num(float64(chartLeft)+float64(i)*slot), chartTop, num(slot), num(plotH))
		}
		fmt.Fprintf(&sb, `<rect class="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
			class, num(x), num(base-h), num(barW), num(h), fill, esc(b.Title))
	}
	sb.WriteString(`</g><g class="labels" aria-hidden="true">`)
	for i, b := range c.Bars {
		if i%every != 0 && !b.Mark {
			continue
		}
		x := float64(chartLeft) + (float64(i)+0.5)*slot
		weight := ""
		if b.Mark {
			weight = ` font-weight="700"`
		}
		fmt.Fprintf(&sb, `<text x="%s" y="%d" text-anchor="middle" font-size="13" fill="#1d2430"%s>%s</text>`, num(x), chartH-8, weight, esc(b.Label))
	}
	sb.WriteString(`</g></svg>`)
	return sb.String()
}

// num writes a coordinate with at most one decimal, "." as the separator
// (SVG syntax, not a text for people).
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// scaleText is a scale number for people: whole numbers plain, others
// with one decimal and the Russian comma.
func scaleText(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strings.Replace(strconv.FormatFloat(v, 'f', 1, 64), ".", ",", 1)
}
