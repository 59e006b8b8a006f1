// SPDX-License-Identifier: MIT
// The prototype gallery and the test-case sections of the HTML report (report/html_detail.h).
#include "mprotonet/report/html_detail.h"
#include "mprotonet/report/viewer.h"

namespace mprotonet::html_detail {

void gallery_section(Page& pg, const std::vector<GallerySection>& gallery) {
  auto& o = pg.o;
  o << "<section id=\"prototypes\"><h2>Prototype gallery</h2>\n"
       "<p class=\"lead\">Each prototype is a latent vector projected onto (\"pushed\" to) a real training case of its class. "
       "Shown: that source case's axial slice through the prototype's location (top: T1, T1CE; bottom: T2, FLAIR), with the "
       "prototype's occurrence map (p_mode ≥ 2) or its receptive field (box, p_mode &lt; 2).</p>\n";
  if (gallery.empty()) o << "<p class=\"note\">No prototype model in this report.</p>\n";
  for (const auto& s : gallery) {
    o << "<h3>" << h(s.run_label) << ", fold " << s.fold << " <span class=\"sd\">(each fold's model has its own prototypes)</span></h3>\n";
    if (!s.note.empty()) o << "<p class=\"note\">" << h(s.note) << "</p>\n";
    if (s.items.empty()) continue;
    o << "<div class=\"gallery\">\n";
    for (const auto& it : s.items) {
      o << "<div class=\"card\">";
      if (!it.image.empty())
        o << "<img src=\"" << h(url_path(it.image)) << "\" alt=\"prototype " << it.prototype << "\">";
      o << "<div class=\"cap\"><b>#" << it.prototype << "</b> <span class=\"tag " << (it.cls == 1 ? "hgg" : "lgg") << "\">"
        << grade(it.cls) << "</span><br>source: "
        << (it.subject_id.empty() ? std::string("<span class=\"na\">not pushed</span>") : h(it.subject_id))
        << "<br>push distance " << fixed(it.distance, 4) << "</div></div>\n";
    }
    o << "</div>\n";
  }
  o << "</section>\n";
}

void cases_section(Page& pg, const std::vector<CaseView>& cases, const std::vector<std::string>& notes) {
  auto& o = pg.o;
  o << "<section id=\"cases\"><h2>Test cases</h2>\n"
       "<p class=\"lead\">A few held-out cases, each explained by the model of the fold that held it out. First row: the "
       "four modalities with the tumour outline (red: necrotic core, green: edema, yellow: enhancing). Then, per model, "
       "each method's map for the predicted class (brighter = more attribution) with the tumour outline in cyan, and for "
       "prototype models the most similar prototypes (\"this looks like that\"). The interactive 3D view under the first "
       "row shows the whole volumes (needs WebGL2; the pictures stay for print).</p>\n";
  for (const auto& n : notes) o << "<p class=\"note\">" << h(n) << "</p>\n";
  if (cases.empty()) o << "<p class=\"note\">No test case shown.</p>\n";
  for (const auto& c : cases) {
    const std::string viewer_id = "mpv-case" + std::to_string(&c - cases.data());
    o << "<div class=\"case\"><h3>" << h(c.id) << " <span class=\"tag " << (c.label == 1 ? "hgg" : "lgg") << "\">true grade "
      << grade(c.label) << "</span> <span class=\"tag\">" << h(c.kind) << "</span></h3>\n";
    o << "<div class=\"maplabel\">Input, axial slice " << c.slice << ", tumour outline</div>"
      << strip(c.input_image, "input of " + c.id) << "\n";
    o << "<div class=\"maplabel\">Interactive 3D view <span class=\"sd\">(model-input grid; every map of every model "
         "below, chosen in \"map\"; prototypes' source cases in \"case\")</span></div>\n"
      << viewer_html(c.viewer, viewer_id);
    for (const auto& m : c.models) {
      o << "<div class=\"model-view\"><b>" << h(m.run_label) << "</b>";
      if (m.has_prediction) {
        const bool ok = m.predicted == c.label;
        o << " <span class=\"sd\">(fold " << m.fold << ")</span>: predicted <b>" << grade(m.predicted) << "</b>, p(HGG) = "
          << fixed(m.p_hgg) << " <span class=\"" << (ok ? "ok\">✓ correct" : "bad\">✗ wrong") << "</span>";
      }
      o << "\n";
      if (!m.note.empty()) o << "<p class=\"note\">" << h(m.note) << "</p>\n";
      for (const auto& mp : m.maps)
        o << "<div class=\"maplabel\">" << h(method_label(mp.method)) << "</div>" << strip(mp.image, mp.method + " map of " + c.id)
          << "\n";
      if (!m.top.empty()) {
        o << "<div class=\"maplabel\">Most similar prototypes</div><div class=\"protos\">";
        for (const auto& p : m.top) {
          o << "<div class=\"card\">";
          if (!p.image.empty()) o << "<img src=\"" << h(url_path(p.image)) << "\" alt=\"prototype " << p.prototype << "\">";
          o << "<div class=\"cap\"><b>#" << p.prototype << "</b> <span class=\"tag " << (p.cls == 1 ? "hgg" : "lgg") << "\">"
            << grade(p.cls) << "</span> similarity <b>" << fixed(p.similarity) << "</b><br>source: "
            << (p.source.empty() ? std::string("<span class=\"na\">unknown</span>") : h(p.source));
          if (p.viewer_source >= 0 && !c.viewer.modalities.empty())
            o << "<br>" << viewer_source_button(viewer_id, static_cast<size_t>(p.viewer_source));
          o << "</div></div>";
        }
        o << "</div>\n";
      }
      o << "</div>\n";
    }
    o << "</div>\n";
  }
  o << "</section>\n";
}

}  // namespace mprotonet::html_detail
