// The file layer. Every content stream an inspector opens becomes the root of a tree of
// Nodes: a node sniffs its first bytes and then passes them through (plain), holds them
// (ZIP, tar, 7z, bzip2, xz, PDF: opened at close), inflates them as they stream (gzip),
// or strips document XML to text. Entries of a container become child nodes and go
// through the same recognition, so a docx in a zip in a tar.gz is read to its text.
// All nodes of one tree share a budget (Tree) for the decompression-bomb guard.
#include "inspectors/files/file_sink.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "inspectors/files/magic.h"
#include "inspectors/files/pdf_text.h"
#include "inspectors/files/xml_text.h"

namespace dlp::inspectors {
namespace {

using files::Sniff;
using files::XmlText;
using namespace std::string_view_literals;

constexpr std::uint32_t kMaxEntries = 10000;     // per container ("archive_entries")
constexpr std::uint64_t kRatioGrace = 1u << 20;  // ratio is judged after the first MiB
constexpr std::uint64_t kTreeBudgetFactor = 4;   // whole tree: 4 x max_decompressed_bytes
constexpr std::size_t kTextChunk = 16 * 1024;    // extracted text is written in pieces
constexpr std::size_t kInflateChunk = 64 * 1024;

struct Ctx {
  ContentSink& next;
  Limits limits;
  FileStats stats;
};

// Shared by every node under one protocol content stream.
struct Tree {
  std::uint64_t in = 0;   // bytes of the protocol stream
  std::uint64_t out = 0;  // bytes decompressed anywhere in the tree
  bool stopped = false;   // a tree-wide limit was hit: nothing more is decompressed
};

enum class Doc : std::uint8_t { none, docx, xlsx, pptx, ooxml, odf };
enum class Route : std::uint8_t { file, xml_ooxml, xml_odf, xml_meta, skip };

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool contains(std::string_view s, std::string_view p) { return s.find(p) != s.npos; }

std::string_view basename(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const std::size_t slash = path.rfind('/');
  return slash == path.npos ? path : path.substr(slash + 1);
}

std::string_view doc_mime(Doc d) {
  switch (d) {
    case Doc::docx: return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    case Doc::xlsx: return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    case Doc::pptx:
      return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
    case Doc::ooxml: return "application/vnd.openxmlformats-officedocument";
    case Doc::odf:
    case Doc::none: break;
  }
  return "application/zip";
}

// Which parts of a document carry what a person wrote. Styles, themes, relationships,
// settings, fonts and media are skipped; embedded files (an xlsx in a docx) are files.
Route route_for(Doc doc, std::string_view path) {
  if (doc == Doc::none) return Route::file;
  if (doc == Doc::odf) {
    if (path == "content.xml"sv || path == "styles.xml"sv || ends_with(path, "/content.xml")) {
      return Route::xml_odf;  // styles.xml holds headers and footers
    }
    if (path == "meta.xml"sv) return Route::xml_meta;
    return Route::skip;
  }
  if (contains(path, "_rels/")) return Route::skip;
  if (path == "docProps/core.xml"sv || path == "docProps/custom.xml"sv) return Route::xml_meta;
  if (contains(path, "/embeddings/")) return Route::file;
  if (!ends_with(path, ".xml")) return Route::skip;
  if (contains(path, "/charts/chart") || contains(path, "/diagrams/data")) {
    return Route::xml_ooxml;
  }
  switch (doc) {
    case Doc::docx:
      if (path == "word/document.xml"sv || starts_with(path, "word/header") ||
          starts_with(path, "word/footer") || path == "word/footnotes.xml"sv ||
          path == "word/endnotes.xml"sv || starts_with(path, "word/comments")) {
        return Route::xml_ooxml;
      }
      return Route::skip;
    case Doc::xlsx:
      if (path == "xl/sharedStrings.xml"sv || starts_with(path, "xl/worksheets/") ||
          starts_with(path, "xl/comments")) {
        return Route::xml_ooxml;
      }
      return Route::skip;
    case Doc::pptx:
      if (starts_with(path, "ppt/slides/") || starts_with(path, "ppt/notesSlides/") ||
          starts_with(path, "ppt/comments/")) {
        return Route::xml_ooxml;
      }
      return Route::skip;
    default:
      break;
  }
  if (contains(path, "theme") || contains(path, "styles") || contains(path, "settings") ||
      contains(path, "fontTable") || starts_with(path, "[Content_Types]")) {
    return Route::skip;
  }
  return Route::xml_ooxml;
}

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

ArchivePtr open_archive(Sniff kind, Bytes buf) {
  ArchivePtr a(archive_read_new());
  if (!a) return a;
  archive* ar = a.get();
  switch (kind) {
    case Sniff::zip: archive_read_support_format_zip(ar); break;
    case Sniff::tar: archive_read_support_format_tar(ar); break;
    case Sniff::sevenzip: archive_read_support_format_7zip(ar); break;
    case Sniff::bzip2:
      archive_read_support_filter_bzip2(ar);
      archive_read_support_format_tar(ar);
      archive_read_support_format_raw(ar);
      break;
    case Sniff::xz:
      archive_read_support_filter_xz(ar);
      archive_read_support_format_tar(ar);
      archive_read_support_format_raw(ar);
      break;
    default: return {};
  }
  if (archive_read_open_memory(ar, buf.data(), buf.size()) != ARCHIVE_OK) return {};
  return a;
}

std::string_view corrupt_weird(Sniff kind) {
  switch (kind) {
    case Sniff::zip: return "file.corrupt_zip";
    case Sniff::tar: return "file.corrupt_tar";
    case Sniff::sevenzip: return "file.corrupt_7z";
    case Sniff::bzip2: return "file.corrupt_bzip2";
    case Sniff::xz: return "file.corrupt_xz";
    case Sniff::gzip: return "file.corrupt_gzip";
    case Sniff::pdf: return "file.corrupt_pdf";
    default: break;
  }
  return "file.corrupt";
}

// The meta of something found inside `parent` at `inner` (an entry path).
ContentMeta child_meta(const ContentMeta& parent, std::string_view inner) {
  ContentMeta m = parent;
  const std::string& base = parent.file_path.empty() ? parent.file_name : parent.file_path;
  m.file_path = base.empty() ? std::string(inner) : base + "/" + std::string(inner);
  m.file_name = std::string(basename(inner));
  m.file_mime = std::string(files::mime_by_extension(m.file_name));
  m.depth = static_cast<std::uint8_t>(parent.depth < 255 ? parent.depth + 1 : 255);
  return m;
}

class Node {
 public:
  // A stream whose type is found by sniffing.
  Node(Ctx& ctx, Tree& tree, ContentMeta meta, bool open_empty)
      : ctx_(ctx), tree_(tree), meta_(std::move(meta)), open_empty_(open_empty) {}
  // A document part: XML reduced to text.
  Node(Ctx& ctx, Tree& tree, ContentMeta meta, XmlText::Mode mode)
      : ctx_(ctx), tree_(tree), meta_(std::move(meta)), mode_(Mode::xml),
        xml_(std::make_unique<XmlText>(mode)) {}
  ~Node() {
    if (gz_) inflateEnd(&gz_->zs);
  }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void write(Bytes data);
  void gap(std::uint64_t len);
  void close();

  // Charges `n` decompressed bytes of one entry of this container (entry_bytes: that
  // entry's running total); returns how many may be scanned.
  std::size_t charge(std::uint64_t& entry_bytes, const ContentMeta& entry_meta, std::size_t n);

 private:
  enum class Mode : std::uint8_t { sniff, plain, held, gzip, xml, skip };

  struct Gunzip {
    z_stream zs{};
    gz_header header{};
    std::array<unsigned char, 256> name{};
    std::vector<std::uint8_t> buf;
    std::unique_ptr<Node> child;
    std::uint64_t entry_bytes = 0;
    bool ended = false;
  };

  void decide(Sniff s);
  void open_out();
  void plain(Bytes data);
  void hold(Bytes data);
  void inflate_gzip(Bytes data);
  void close_gzip();
  void flush_text();
  void decode_held(bool truncated);
  bool decode_archive(bool truncated);
  void decode_pdf();
  Doc find_doc_type(std::string& odf_mime);
  void pass_raw_held();
  bool stopped() const { return tree_.stopped || stopped_; }

  Ctx& ctx_;
  Tree& tree_;
  ContentMeta meta_;
  Mode mode_ = Mode::sniff;
  Sniff kind_ = Sniff::plain;
  bool open_empty_ = false;  // a protocol stream is opened on `next` even when empty
  bool out_open_ = false;
  bool raw_passed_ = false;  // the held bytes already went out as plain content
  bool stopped_ = false;     // a limit of this container was hit
  ContentSink::StreamId out_ = 0;
  std::size_t head_len_ = 0;
  std::array<std::uint8_t, files::kSniffMax> head_{};
  std::vector<std::uint8_t> held_;
  std::uint64_t c_in_ = 0;   // container: compressed bytes in
  std::uint64_t c_out_ = 0;  // container: bytes decompressed from it
  std::unique_ptr<Gunzip> gz_;
  std::unique_ptr<XmlText> xml_;
  std::string text_;
};

std::size_t Node::charge(std::uint64_t& entry_bytes, const ContentMeta& entry_meta,
                         std::size_t n) {
  const Limits& lim = ctx_.limits;
  if (stopped()) return 0;
  const std::uint64_t tree_max = lim.max_decompressed_bytes * kTreeBudgetFactor;
  const std::uint64_t entry_room =
      entry_bytes < lim.max_decompressed_bytes ? lim.max_decompressed_bytes - entry_bytes : 0;
  const std::uint64_t tree_room = tree_.out < tree_max ? tree_max - tree_.out : 0;
  std::size_t allowed = n;
  if (entry_room < allowed) allowed = static_cast<std::size_t>(entry_room);
  if (tree_room < allowed) allowed = static_cast<std::size_t>(tree_room);
  entry_bytes += allowed;
  tree_.out += allowed;
  c_out_ += allowed;
  ctx_.stats.bytes_extracted += allowed;
  if (allowed < n) {
    const bool whole_tree = tree_room <= entry_room;
    limit_hit(ctx_.next, lim, "decompressed_bytes", entry_meta,
              whole_tree ? "more than " + std::to_string(tree_max) +
                               " bytes decompressed from one transfer"
                         : "file decompresses to more than " +
                               std::to_string(lim.max_decompressed_bytes) + " bytes");
    if (whole_tree) tree_.stopped = true;
    return allowed;
  }
  const std::uint64_t ratio = lim.max_decompression_ratio;
  if (tree_.out > kRatioGrace && ratio > 0 && tree_.out / ratio > tree_.in) {
    limit_hit(ctx_.next, lim, "decompression_ratio", entry_meta,
              std::to_string(tree_.in) + " bytes decompress to more than " +
                  std::to_string(tree_.out) + " (ratio over " + std::to_string(ratio) + ")");
    tree_.stopped = true;
  } else if (c_out_ > kRatioGrace && ratio > 0 && c_out_ / ratio > c_in_) {
    limit_hit(ctx_.next, lim, "decompression_ratio", entry_meta,
              "a " + std::to_string(c_in_) + "-byte container decompresses to more than " +
                  std::to_string(c_out_) + " (ratio over " + std::to_string(ratio) + ")");
    stopped_ = true;
  }
  return allowed;
}

void Node::open_out() {
  if (out_open_) return;
  out_ = ctx_.next.open(meta_);
  out_open_ = true;
}

void Node::plain(Bytes data) {
  if (data.empty()) return;
  open_out();
  ctx_.next.write(out_, data);
}

void Node::decide(Sniff s) {
  if (s == Sniff::plain || s == Sniff::need_more) {
    mode_ = Mode::plain;
    return;
  }
  kind_ = s;
  meta_.file_mime = std::string(files::sniff_mime(s));
  if (meta_.depth >= ctx_.limits.max_depth) {
    limit_hit(ctx_.next, ctx_.limits, "depth", meta_,
              "file nested deeper than " + std::to_string(ctx_.limits.max_depth) +
                  " levels: scanned as plain bytes");
    mode_ = Mode::plain;
    return;
  }
  ++ctx_.stats.files_opened;
  if (s == Sniff::gzip) {
    gz_ = std::make_unique<Gunzip>();
    if (inflateInit2(&gz_->zs, 16 + 15) != Z_OK) {
      gz_.reset();
      mode_ = Mode::plain;
      return;
    }
    gz_->header.name = gz_->name.data();
    gz_->header.name_max = static_cast<uInt>(gz_->name.size() - 1);
    inflateGetHeader(&gz_->zs, &gz_->header);
    gz_->buf.resize(kInflateChunk);
    mode_ = Mode::gzip;
    return;
  }
  mode_ = Mode::held;
}

void Node::write(Bytes data) {
  if (data.empty()) return;
  switch (mode_) {
    case Mode::sniff: {
      if (head_len_ == 0) {
        const Sniff s = files::sniff(data, false);
        if (s != Sniff::need_more) {
          decide(s);
          write(data);  // the caller's bytes, not a copy
          return;
        }
      }
      const std::size_t take = std::min(data.size(), head_.size() - head_len_);
      std::memcpy(head_.data() + head_len_, data.data(), take);
      head_len_ += take;
      const Sniff s = files::sniff(Bytes(head_.data(), head_len_), false);
      if (s == Sniff::need_more) return;  // take == data.size() here
      decide(s);
      const std::size_t held = head_len_;
      head_len_ = 0;
      write(Bytes(head_.data(), held));
      write(data.subspan(take));
      return;
    }
    case Mode::plain: plain(data); return;
    case Mode::held: hold(data); return;
    case Mode::gzip: inflate_gzip(data); return;
    case Mode::xml:
      xml_->feed(data, text_);
      if (text_.size() >= kTextChunk) flush_text();
      return;
    case Mode::skip: return;
  }
}

void Node::hold(Bytes data) {
  const std::uint64_t max = ctx_.limits.max_file_buffer;
  const std::size_t room = held_.size() < max ? static_cast<std::size_t>(max - held_.size()) : 0;
  const std::size_t take = std::min(room, data.size());
  if (take > 0) {
    if (held_.capacity() < held_.size() + take) {
      std::size_t cap = std::max<std::size_t>(held_.capacity() * 2, 64 * 1024);
      cap = std::max(cap, held_.size() + take);
      held_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(cap, max)));
    }
    held_.insert(held_.end(), data.data(), data.data() + take);
  }
  if (take == data.size()) return;
  limit_hit(ctx_.next, ctx_.limits, "file_buffer", meta_,
            "container larger than " + std::to_string(max) +
                " bytes: opened up to there, the rest scanned as plain bytes");
  decode_held(true);
  held_.clear();
  held_.shrink_to_fit();
  mode_ = Mode::plain;
  plain(data.subspan(take));
}

void Node::inflate_gzip(Bytes data) {
  Gunzip& g = *gz_;
  c_in_ += data.size();
  g.zs.next_in = const_cast<Bytef*>(data.data());
  g.zs.avail_in = static_cast<uInt>(data.size());
  while (g.zs.avail_in > 0) {
    if (stopped()) {
      close_gzip();
      mode_ = Mode::skip;  // the rest is not decompressed; the limit was reported
      return;
    }
    if (g.ended) {  // another member follows (or trailing bytes, which fail below)
      inflateReset(&g.zs);
      inflateGetHeader(&g.zs, &g.header);
      g.ended = false;
    }
    g.zs.next_out = g.buf.data();
    g.zs.avail_out = static_cast<uInt>(g.buf.size());
    const int rc = inflate(&g.zs, Z_NO_FLUSH);
    const std::size_t got = g.buf.size() - g.zs.avail_out;
    if (got > 0) {
      if (!g.child) {
        std::string inner;
        if (g.header.done == 1 && g.name[0] != 0) {
          inner = reinterpret_cast<const char*>(g.name.data());
        } else {
          std::string_view own = meta_.file_name;
          if (ends_with(own, ".tgz")) {
            inner = std::string(own.substr(0, own.size() - 4)) + ".tar";
          } else if (ends_with(own, ".gz")) {
            inner = std::string(own.substr(0, own.size() - 3));
          }
          if (inner.empty()) inner = "gunzipped";
        }
        ++ctx_.stats.entries;
        g.child = std::make_unique<Node>(ctx_, tree_, child_meta(meta_, basename(inner)), false);
      }
      const std::size_t allowed = charge(g.entry_bytes, g.child->meta_, got);
      g.child->write(Bytes(g.buf.data(), allowed));
      if (allowed < got) stopped_ = true;  // reported once; the rest is not inflated
    }
    if (rc == Z_STREAM_END) {
      g.ended = true;
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) break;
    // Corrupt: what was inflated has been scanned; the rest goes out as it is.
    ++ctx_.stats.decode_errors;
    ctx_.next.weird("file.corrupt_gzip");
    const Bytes rest(g.zs.next_in, g.zs.avail_in);
    close_gzip();
    mode_ = Mode::plain;
    plain(rest);
    return;
  }
}

void Node::close_gzip() {
  if (!gz_) return;
  if (gz_->child) {
    gz_->child->close();
    gz_->child.reset();
  }
  inflateEnd(&gz_->zs);
  gz_.reset();
}

void Node::flush_text() {
  if (text_.empty()) return;
  open_out();
  ctx_.next.write(out_, as_bytes(text_));
  text_.clear();
}

void Node::gap(std::uint64_t len) {
  switch (mode_) {
    case Mode::sniff: {
      decide(files::sniff(Bytes(head_.data(), head_len_), true));
      const std::size_t held = head_len_;
      head_len_ = 0;
      write(Bytes(head_.data(), held));
      if (mode_ != Mode::plain) {
        gap(len);
        return;
      }
      break;
    }
    case Mode::plain:
      break;
    case Mode::held:
      ctx_.next.weird("file.gap");
      decode_held(true);
      held_.clear();
      held_.shrink_to_fit();
      mode_ = Mode::plain;
      break;
    case Mode::gzip:
      ctx_.next.weird("file.gap");
      close_gzip();
      mode_ = Mode::plain;
      break;
    case Mode::xml:
    case Mode::skip:
      return;
  }
  open_out();
  ctx_.next.gap(out_, len);
}

void Node::close() {
  if (mode_ == Mode::sniff) {
    decide(files::sniff(Bytes(head_.data(), head_len_), true));
    const std::size_t held = head_len_;
    head_len_ = 0;
    write(Bytes(head_.data(), held));
  }
  switch (mode_) {
    case Mode::held:
      decode_held(false);
      held_.clear();
      held_.shrink_to_fit();
      break;
    case Mode::gzip:
      if (gz_ && !gz_->ended && !stopped()) {
        ctx_.next.weird("file.truncated_gzip");
      }
      close_gzip();
      break;
    case Mode::xml:
      xml_->finish(text_);
      flush_text();
      break;
    case Mode::plain:
      if (open_empty_) open_out();
      break;
    case Mode::sniff:
    case Mode::skip:
      break;
  }
  if (out_open_) {
    ctx_.next.close(out_);
    out_open_ = false;
  }
  mode_ = Mode::skip;
}

void Node::pass_raw_held() {
  if (raw_passed_ || held_.empty()) return;
  raw_passed_ = true;
  plain(Bytes(held_.data(), held_.size()));
}

void Node::decode_held(bool truncated) {
  c_in_ = held_.size();
  if (kind_ == Sniff::pdf) {
    decode_pdf();
    return;
  }
  if (!decode_archive(truncated)) pass_raw_held();
}

// Only a ZIP with its central directory is listed first (libarchive's seekable reader
// lists without inflating); a truncated one would be inflated twice, so its entries are
// read as plain files instead.
bool has_end_of_central_directory(Bytes buf) {
  const std::size_t tail = std::min<std::size_t>(buf.size(), 65535 + 22);
  const std::string_view end = as_chars(buf.subspan(buf.size() - tail));
  return end.rfind("PK\x05\x06"sv) != std::string_view::npos;
}

Doc Node::find_doc_type(std::string& odf_mime) {
  if (!has_end_of_central_directory(Bytes(held_.data(), held_.size()))) return Doc::none;
  ArchivePtr a = open_archive(kind_, Bytes(held_.data(), held_.size()));
  if (!a) return Doc::none;
  bool content_types = false;
  Doc main = Doc::none;
  archive_entry* e = nullptr;
  for (std::uint32_t n = 0; n < kMaxEntries; ++n) {
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF || r < ARCHIVE_WARN) break;
    const char* p = archive_entry_pathname(e);
    const std::string_view path = p != nullptr ? p : "";
    if (path == "mimetype"sv) {
      char buf[128];
      const la_ssize_t got = archive_read_data(a.get(), buf, sizeof(buf) - 1);
      if (got > 0) {
        std::string_view m(buf, static_cast<std::size_t>(got));
        while (!m.empty() && (m.back() == '\n' || m.back() == '\r' || m.back() == ' ')) {
          m.remove_suffix(1);
        }
        if (starts_with(m, "application/vnd.oasis.opendocument.")) {
          odf_mime = std::string(m);
          return Doc::odf;
        }
      }
    } else if (path == "[Content_Types].xml"sv) {
      content_types = true;
    } else if (path == "word/document.xml"sv) {
      main = Doc::docx;
    } else if (path == "xl/workbook.xml"sv) {
      main = Doc::xlsx;
    } else if (path == "ppt/presentation.xml"sv) {
      main = Doc::pptx;
    }
    if (content_types && main != Doc::none) break;
  }
  if (!content_types) return Doc::none;
  return main == Doc::none ? Doc::ooxml : main;
}

// Opens the held container and emits each entry as a child stream. False when nothing
// could be read (corrupt or encrypted): the caller then passes the raw bytes on.
bool Node::decode_archive(bool truncated) {
  const Bytes buf(held_.data(), held_.size());
  Doc doc = Doc::none;
  std::string odf_mime;
  if (kind_ == Sniff::zip) doc = find_doc_type(odf_mime);
  if (doc == Doc::odf) {
    meta_.file_mime = odf_mime;
  } else if (doc != Doc::none) {
    meta_.file_mime = std::string(doc_mime(doc));
  }
  ArchivePtr a = open_archive(kind_, buf);
  bool error = !a;
  bool encrypted = false;
  std::uint32_t entries = 0;
  std::uint32_t emitted = 0;
  archive_entry* e = nullptr;
  while (a && (kind_ == Sniff::tar || !stopped())) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      error = true;
      break;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    if (++entries > kMaxEntries) {
      limit_hit(ctx_.next, ctx_.limits, "archive_entries", meta_,
                "more than " + std::to_string(kMaxEntries) + " entries in one archive");
      break;
    }
    if (archive_entry_is_encrypted(e) != 0) {
      encrypted = true;
      continue;
    }
    const char* p = archive_entry_pathname_utf8(e);
    if (p == nullptr) p = archive_entry_pathname(e);
    std::string_view path = p != nullptr ? p : "";
    while (starts_with(path, "./") || starts_with(path, "/")) path.remove_prefix(path[0] == '/' ? 1 : 2);
    std::string raw_name;
    if (archive_format(a.get()) == ARCHIVE_FORMAT_RAW) {  // a lone .bz2/.xz: no names
      std::string_view own = meta_.file_name;
      const std::size_t dot = own.rfind('.');
      raw_name = dot != own.npos && dot > 0 ? std::string(own.substr(0, dot)) : "data";
      path = raw_name;
    }
    if (path.empty()) path = "data";
    const Route route = route_for(doc, path);
    if (route == Route::skip) continue;
    ContentMeta m = child_meta(meta_, path);
    std::unique_ptr<Node> child;
    if (route == Route::file) {
      child = std::make_unique<Node>(ctx_, tree_, std::move(m), false);
    } else {
      // A document part speaks for the document: its name and type, its own path.
      m.file_name = meta_.file_name;
      m.file_mime = meta_.file_mime;
      const XmlText::Mode mode = route == Route::xml_ooxml ? XmlText::Mode::ooxml
                                 : route == Route::xml_odf ? XmlText::Mode::odf
                                                           : XmlText::Mode::meta;
      child = std::make_unique<Node>(ctx_, tree_, std::move(m), mode);
    }
    ++ctx_.stats.entries;
    ++emitted;
    std::uint64_t entry_bytes = 0;
    for (;;) {
      const void* block = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      r = archive_read_data_block(a.get(), &block, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        error = true;
        break;
      }
      if (size == 0) continue;
      // tar stores, it does not compress: its entries are bytes already held (and
      // counted), so they are scanned even after a decompression limit stopped the tree.
      const std::size_t allowed =
          kind_ == Sniff::tar ? size : charge(entry_bytes, child->meta_, size);
      child->write(Bytes(static_cast<const std::uint8_t*>(block), allowed));
      if (allowed < size) break;
    }
    child->close();
    if (error) break;
  }
  if (a && !error && archive_read_has_encrypted_entries(a.get()) > 0) encrypted = true;
  if (encrypted) {
    ++ctx_.stats.decode_errors;
    ctx_.next.weird("file.encrypted");
  }
  if (error && !truncated) {
    ++ctx_.stats.decode_errors;
    ctx_.next.weird(corrupt_weird(kind_));
  }
  // Whatever could not be read goes out as it is: corrupt, encrypted, or a truncated
  // container of which nothing was readable.
  if (encrypted || (error && !truncated)) return false;
  return emitted > 0 || !truncated;
}

class PdfOut final : public files::PdfTextOut {
 public:
  PdfOut(Node& node, Ctx& ctx, ContentMeta meta)
      : node_(node), ctx_(ctx), meta_(std::move(meta)) {}
  void text(std::string_view s) override {
    if (s.empty()) return;
    text_.append(s);
    if (text_.size() >= kTextChunk) flush();
  }
  bool inflated(std::uint64_t n) override {
    return node_.charge(entry_bytes_, meta_, static_cast<std::size_t>(n)) == n;
  }
  void flush() {
    if (text_.empty()) return;
    if (!open_) {
      id_ = ctx_.next.open(meta_);
      open_ = true;
    }
    ctx_.next.write(id_, as_bytes(text_));
    text_.clear();
  }
  void close() {
    flush();
    if (open_) ctx_.next.close(id_);
    open_ = false;
  }
  bool wrote() const { return open_; }

 private:
  Node& node_;
  Ctx& ctx_;
  ContentMeta meta_;
  std::string text_;
  std::uint64_t entry_bytes_ = 0;
  ContentSink::StreamId id_ = 0;
  bool open_ = false;
};

void Node::decode_pdf() {
  ContentMeta m = meta_;
  if (m.file_path.empty()) m.file_path = m.file_name;
  m.depth = static_cast<std::uint8_t>(m.depth < 255 ? m.depth + 1 : 255);
  PdfOut out(*this, ctx_, std::move(m));
  const files::PdfResult r = files::extract_pdf_text(Bytes(held_.data(), held_.size()), out);
  out.close();
  if (r.encrypted) {
    ++ctx_.stats.decode_errors;
    ctx_.next.weird("file.encrypted");
    ctx_.next.weird("pdf.unsupported");
    pass_raw_held();
    return;
  }
  if (r.object_streams || r.cid_fonts || r.other_filters) ctx_.next.weird("pdf.unsupported");
  if (r.streams == 0 || r.inflate_errors == r.streams) {
    ++ctx_.stats.decode_errors;
    ctx_.next.weird("file.corrupt_pdf");
    pass_raw_held();
    return;
  }
  if (r.inflate_errors > 0) ctx_.next.weird("file.corrupt_pdf");
  ++ctx_.stats.entries;
}

// One protocol content stream and the tree under it.
struct Root {
  Root(Ctx& ctx, const ContentMeta& meta) : node(ctx, tree, meta, true) {}
  Tree tree;
  Node node;
};

}  // namespace

struct FileSink::Impl {
  Ctx ctx;
  std::unordered_map<StreamId, std::unique_ptr<Root>> streams;
  StreamId next_id = 1;

  Root* find(StreamId id) {
    const auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second.get();
  }
};

// Every entry point catches: an allocation failure while holding or extracting must not
// take the worker down; the stream loses its file decoding and the loss is counted.
FileSink::FileSink(ContentSink& next, const Limits& limits)
    : impl_(std::make_unique<Impl>(Impl{Ctx{next, limits, {}}, {}, 1})) {}

FileSink::~FileSink() = default;

ContentSink::StreamId FileSink::open(const ContentMeta& meta) {
  try {
    StreamId id = impl_->next_id++;
    if (impl_->next_id == 0) impl_->next_id = 1;
    impl_->streams[id] = std::make_unique<Root>(impl_->ctx, meta);
    return id;
  } catch (...) {
    impl_->ctx.next.weird("file.internal_error");
    return 0;
  }
}

void FileSink::write(StreamId id, Bytes data) {
  Root* r = impl_->find(id);
  if (r == nullptr) return;
  try {
    r->tree.in += data.size();
    r->node.write(data);
  } catch (...) {
    impl_->ctx.next.weird("file.internal_error");
  }
}

void FileSink::gap(StreamId id, std::uint64_t len) {
  Root* r = impl_->find(id);
  if (r == nullptr) return;
  try {
    r->node.gap(len);
  } catch (...) {
    impl_->ctx.next.weird("file.internal_error");
  }
}

void FileSink::close(StreamId id) {
  Root* r = impl_->find(id);
  if (r == nullptr) return;
  try {
    r->node.close();
  } catch (...) {
    impl_->ctx.next.weird("file.internal_error");
  }
  impl_->streams.erase(id);
}

void FileSink::weird(std::string_view what) { impl_->ctx.next.weird(what); }
void FileSink::flow_meta(const ContentMeta& meta) { impl_->ctx.next.flow_meta(meta); }
void FileSink::report(const Report& r) { impl_->ctx.next.report(r); }
std::uint64_t FileSink::now_ns() const { return impl_->ctx.next.now_ns(); }
const FileStats& FileSink::stats() const { return impl_->ctx.stats; }

}  // namespace dlp::inspectors
