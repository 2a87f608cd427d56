package dashboard_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/dashboard"
)

// svgNode is what the tests read back from a chart.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []svgNode  `xml:",any"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n svgNode) all(local string) []svgNode {
	var out []svgNode
	for _, c := range n.Nodes {
		if c.XMLName.Local == local {
			out = append(out, c)
		}
		out = append(out, c.all(local)...)
	}
	return out
}

// bars are the chart's data rectangles (not the band behind today).
func bars(root svgNode) []svgNode {
	var out []svgNode
	for _, r := range root.all("rect") {
		if strings.HasPrefix(r.attr("class"), "bar") {
			out = append(out, r)
		}
	}
	return out
}

// parseSVG checks the chart is well-formed XML with one root and returns it.
func parseSVG(t *testing.T, s string) svgNode {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
	}
	var root svgNode
	if err := xml.Unmarshal([]byte(s), &root); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestBarChartIsAccessibleWellFormedSVG(t *testing.T) {
	c := dashboard.BarChart{ID: "c1", Title: `Часы <школы> & "ночь"`, Desc: "Описание", Max: 100, Unit: "%", LabelEvery: 2,
		Bars: []dashboard.Bar{{Label: "00", Value: 50, Title: "00:00–01:00: 50 %"}, {Label: "01", Value: 100, Title: "<b>"}, {Label: "02", Value: 0, Mark: true}}}
	root := parseSVG(t, c.SVG())
	if root.XMLName.Local != "svg" || root.attr("role") != "img" || root.attr("aria-labelledby") != "c1-title c1-desc" || root.attr("viewBox") != "0 0 480 200" {
		t.Fatalf("root: %s %v", root.XMLName.Local, root.Attrs)
	}
	if len(root.Nodes) < 2 || root.Nodes[0].XMLName.Local != "title" || root.Nodes[0].attr("id") != "c1-title" || root.Nodes[0].Text != `Часы <школы> & "ночь"` {
		t.Fatalf("first child must be the title: %+v", root.Nodes[0])
	}
	if d := root.Nodes[1]; d.XMLName.Local != "desc" || d.attr("id") != "c1-desc" || d.Text != "Описание" {
		t.Fatalf("second child must be the desc: %+v", d)
	}
	rects := bars(root)
	if len(rects) != 3 {
		t.Fatalf("%d bars, want 3", len(rects))
	}
	// The plot is 200 − 10 − 28 = 162 units high: 50 % is 81, 100 % is 162,
	// and all bars stand on the same base line.
	for i, want := range []float64{81, 162, 0} {
		h, _ := strconv.ParseFloat(rects[i].attr("height"), 64)
		y, _ := strconv.ParseFloat(rects[i].attr("y"), 64)
		if h != want || y+h != 172 {
			t.Errorf("bar %d: height %v y %v, want height %v on 172", i, h, y, want)
		}
	}
	if rects[1].Nodes[0].Text != "<b>" || !strings.Contains(rects[2].attr("class"), "mark") {
		t.Errorf("bar titles or mark: %+v", rects)
	}
	// The marked (third) bar has a band behind it, the plot's full height.
	if all := root.all("rect"); len(all) != 4 || all[2].attr("class") != "band" || all[2].attr("height") != "162" || all[2].attr("y") != "10" {
		t.Errorf("band behind the marked bar: %+v", all)
	}
	// Labels: every second, plus the marked one; the scale shows 0 %, 50 %, 100 %.
	var texts []string
	for _, tx := range root.all("text") {
		texts = append(texts, tx.Text)
	}
	if got := strings.Join(texts, " "); got != "0% 50% 100% 00 02" {
		t.Errorf("texts %q", got)
	}
}

func TestBarChartScalesToTheLargestValue(t *testing.T) {
	c := dashboard.BarChart{ID: "c", Max: 1, Bars: []dashboard.Bar{{Value: 3}, {Value: 1}}}
	rects := bars(parseSVG(t, c.SVG()))
	if rects[0].attr("height") != "162" || rects[1].attr("height") != "54" {
		t.Fatalf("heights %s %s", rects[0].attr("height"), rects[1].attr("height"))
	}
	// Nothing at all still draws an empty chart.
	parseSVG(t, dashboard.BarChart{ID: "e"}.SVG())
}

func TestDayAndHourChartTexts(t *testing.T) {
	from := time.Date(2026, 11, 30, 0, 0, 0, 0, msk)
	days := dashboard.PerDay([]time.Time{from.Add(10 * time.Hour), from.Add(34 * time.Hour), from.Add(35 * time.Hour)}, from, 3, from.AddDate(0, 0, 1))
	c := dashboard.DayChart(days)
	if c.Title != "Бронирований по дням, 30.11.2026 — 02.12.2026" ||
		c.Desc != "Всего 3 бронирования за 3 дня. Больше всего — 2 (01.12.2026). Сегодняшний день выделен цветом." {
		t.Fatalf("title %q desc %q", c.Title, c.Desc)
	}
	// Peak 2: the scale's top is 2, its middle 1 — whole bookings.
	if c.Max != 2 {
		t.Fatalf("scale top %v", c.Max)
	}
	if c3 := dashboard.DayChart([]dashboard.DayCount{{Count: 3, Day: from}}); c3.Max != 4 {
		t.Fatalf("scale top for 3 bookings: %v, want 4", c3.Max)
	}
	if c.Bars[1].Title != "01.12.2026: 2 бронирования (сегодня)" || !c.Bars[1].Mark || c.Bars[0].Title != "30.11.2026: 1 бронирование" || c.Bars[0].Label != "30.11" {
		t.Fatalf("bars %+v", c.Bars)
	}
	var hours [24]dashboard.HourUse
	for h := range hours {
		hours[h].Hour = h
	}
	hours[9] = dashboard.HourUse{Hour: 9, OfferedSeatMn: 420, BookedSeatMn: 270, Percent: 64}
	hours[14] = dashboard.HourUse{Hour: 14, OfferedSeatMn: 180}
	hc := dashboard.HourChart(hours)
	if hc.Bars[9].Title != "09:00–10:00: 64 % (занято 4,5 из 7 место-часов)" || hc.Bars[3].Title != "03:00–04:00: слотов не было" || hc.Bars[23].Label != "23" {
		t.Fatalf("hour bars %q %q", hc.Bars[9].Title, hc.Bars[3].Title)
	}
	if !strings.HasSuffix(hc.Desc, "Слоты были, но никто не бронировал в часы: 14.") {
		t.Fatalf("desc %q", hc.Desc)
	}
	root := parseSVG(t, hc.SVG())
	if root.Nodes[0].Text != "Загрузка сервера по часам суток за 30 дней" || len(bars(root)) != 24 {
		t.Fatalf("hour chart: %q, %d bars", root.Nodes[0].Text, len(bars(root)))
	}
}
