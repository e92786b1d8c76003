// Package fakegithubapi is an in-memory stand-in for the part of the GitHub REST API
// that release signing uses, close enough to the real one that go-github cannot tell:
// a release by tag, its assets listed with Link pagination, an asset download that
// answers Accept: application/octet-stream with a 302 to a storage host (which, like
// GitHub's, refuses a request that still carries the API token), uploads on the uploads
// path, deletes, GitHub's error bodies ({"message", "documentation_url"}, 404, 401, 422
// already_exists) and rate limiting (403 with x-ratelimit-remaining: 0 and
// x-ratelimit-reset; 429 with Retry-After). It also stores artifact attestations
// (POST /repos/{owner}/{repo}/attestations: a Sigstore bundle v0.3 with an in-toto
// DSSE envelope, 201 {"id": N}; 422 for anything else; a 403 or 404 on demand, as for
// a token without `attestations: write`) and lists them by subject digest. It serves
// GHES paths (/api/v3, /api/uploads) and api.github.com paths alike. For tests only: it
// listens on loopback.
package fakegithubapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const docs = "https://docs.github.com/rest/releases"

// Asset is one release asset.
type Asset struct {
	ID          int64
	Name        string
	ContentType string
	Data        []byte
	Uploaded    time.Time
}

type release struct {
	id     int64
	repo   string // owner/name
	tag    string
	assets []*Asset
}

// Server is a running fake.
type Server struct {
	URL   string // http://127.0.0.1:PORT; GHES API base is URL+"/api/v3"
	Token string // the token every API request must carry

	// MaxPerPage caps per_page (GitHub: 100); tests lower it to force pagination.
	MaxPerPage int

	mu       sync.Mutex
	srv      *http.Server
	nextID   int64
	releases []*release
	requests []string
	limits   []limit
	storage  map[string]int64 // signed storage key -> asset id

	attestations []*Attestation
	attRefusal   refusal
	repoIDs      map[string]int64
}

type limit struct {
	secondary bool
	wait      time.Duration
}

// Start listens on a free loopback port.
func Start(token string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Token: token, MaxPerPage: 100, nextID: 1000, storage: map[string]int64{}, repoIDs: map[string]int64{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// AddRelease creates a release for repo (owner/name) and tag; it returns its id.
func (s *Server) AddRelease(repo, tag string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.releases = append(s.releases, &release{id: s.nextID, repo: repo, tag: tag})
	return s.nextID
}

// AddAsset adds an asset to a release, as an upload would.
func (s *Server) AddAsset(releaseID int64, name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.releases {
		if r.id == releaseID {
			s.nextID++
			r.assets = append(r.assets, &Asset{ID: s.nextID, Name: name, ContentType: "application/octet-stream", Data: data, Uploaded: time.Now()})
		}
	}
}

// Release returns the id of repo's release for tag.
func (s *Server) Release(repo, tag string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findRelease(repo, func(rel *release) bool { return rel.tag == tag })
	if rel == nil {
		return 0, false
	}
	return rel.id, true
}

// SetAssetData replaces the content of a release's asset, as a tampered release would
// serve it; it reports whether the asset exists.
func (s *Server) SetAssetData(releaseID int64, name string, data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.releases {
		if r.id != releaseID {
			continue
		}
		for _, a := range r.assets {
			if a.Name == name {
				a.Data = append([]byte(nil), data...)
				return true
			}
		}
	}
	return false
}

// tagOf is the tag of the release holding asset id ("" when none); s.mu is held.
func (s *Server) tagOf(id int64) string {
	for _, rel := range s.releases {
		for _, a := range rel.assets {
			if a.ID == id {
				return rel.tag
			}
		}
	}
	return ""
}

// publicDownload serves GET /{owner}/{repo}/releases/download/{tag}/{name}, the
// browser_download_url of a public release: no token, a 302 to the storage host.
func (s *Server) publicDownload(w http.ResponseWriter, r *http.Request) bool {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 6 || parts[2] != "releases" || parts[3] != "download" || parts[0] == "repos" || parts[0] == "api" {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		ghError(w, http.StatusMethodNotAllowed, "Method Not Allowed", docs)
		return true
	}
	repo, tag, name := parts[0]+"/"+parts[1], parts[4], parts[5]
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findRelease(repo, func(rel *release) bool { return rel.tag == tag })
	if rel != nil {
		for _, a := range rel.assets {
			if a.Name == name {
				var k [16]byte
				rand.Read(k[:])
				key := hex.EncodeToString(k[:])
				s.storage[key] = a.ID
				http.Redirect(w, r, s.base(r)+"/_storage/"+key, http.StatusFound)
				return true
			}
		}
	}
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "Not Found")
	return true
}

// createRelease answers POST /repos/{o}/{r}/releases: 201 with the release, 422
// already_exists when the tag has one.
func (s *Server) createRelease(w http.ResponseWriter, r *http.Request, repo string) {
	var req struct {
		TagName string `json:"tag_name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.TagName == "" {
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed", docs+"/releases#create-a-release",
			map[string]string{"resource": "Release", "code": "missing_field", "field": "tag_name"})
		return
	}
	if _, ok := s.Release(repo, req.TagName); ok {
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed", docs+"/releases#create-a-release",
			map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"})
		return
	}
	s.AddRelease(repo, req.TagName)
	rw := &statusWriter{ResponseWriter: w, code: http.StatusCreated}
	s.releaseByTag(rw, r, repo, req.TagName)
}

// statusWriter replaces the status a handler writes (200 becomes code).
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		code = w.code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Assets returns copies of a release's assets, by name.
func (s *Server) Assets(releaseID int64) map[string]Asset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Asset{}
	for _, r := range s.releases {
		if r.id == releaseID {
			for _, a := range r.assets {
				c := *a
				c.Data = append([]byte(nil), a.Data...)
				out[a.Name] = c
			}
		}
	}
	return out
}

// Requests returns "METHOD PATH" for every request served, and clears the list.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

// RateLimitNext makes the next API requests answer rate limited, one per call:
// primary (403, x-ratelimit-remaining: 0, x-ratelimit-reset = now + wait, rounded up to
// a second as GitHub's epoch seconds are) or secondary (429 with Retry-After).
func (s *Server) RateLimitNext(secondary bool, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, limit{secondary, wait})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func ghError(w http.ResponseWriter, code int, msg, doc string, errs ...map[string]string) {
	body := map[string]any{"message": msg, "documentation_url": doc}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, code, body)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()

	if key, ok := strings.CutPrefix(r.URL.Path, "/_storage/"); ok {
		s.serveStorage(w, r, key)
		return
	}
	if s.publicDownload(w, r) {
		return
	}
	path := r.URL.Path
	upload := false
	switch {
	case strings.HasPrefix(path, "/api/v3/"):
		path = strings.TrimPrefix(path, "/api/v3")
	case strings.HasPrefix(path, "/api/uploads/"):
		path, upload = strings.TrimPrefix(path, "/api/uploads"), true
	}
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+s.Token && auth != "token "+s.Token {
		ghError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	reset := time.Now().Add(time.Hour)
	s.mu.Lock()
	var lim *limit
	if len(s.limits) > 0 {
		lim = &s.limits[0]
		s.limits = s.limits[1:]
	}
	s.mu.Unlock()
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Resource", "core")
	if lim != nil {
		if lim.secondary {
			w.Header().Set("Retry-After", strconv.Itoa(int((lim.wait+time.Second-1)/time.Second)))
			w.Header().Set("X-RateLimit-Remaining", "0")
			ghError(w, http.StatusTooManyRequests, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
			return
		}
		reset = time.Now().Add(lim.wait).Add(time.Second - 1).Truncate(time.Second)
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		ghError(w, http.StatusForbidden, "API rate limit exceeded for installation ID 1.",
			"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
		return
	}
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))

	parts := strings.Split(strings.Trim(path, "/"), "/")
	// repos/{o}/{r}/attestations[/{subject_digest}]
	if !upload && len(parts) >= 4 && parts[0] == "repos" && parts[3] == "attestations" {
		repo := parts[1] + "/" + parts[2]
		switch {
		case len(parts) == 4 && r.Method == http.MethodPost:
			s.createAttestation(w, r, repo)
		case len(parts) == 5 && r.Method == http.MethodGet:
			s.listAttestations(w, repo, parts[4])
		default:
			ghError(w, http.StatusNotFound, "Not Found", attDocs)
		}
		return
	}
	// POST repos/{o}/{r}/releases: create a release.
	if !upload && len(parts) == 4 && parts[0] == "repos" && parts[3] == "releases" && r.Method == http.MethodPost {
		s.createRelease(w, r, parts[1]+"/"+parts[2])
		return
	}
	// repos/{o}/{r}/releases/...
	if len(parts) < 5 || parts[0] != "repos" || parts[3] != "releases" {
		ghError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	repo := parts[1] + "/" + parts[2]
	rest := parts[4:]
	switch {
	case upload && r.Method == http.MethodPost && len(rest) == 2 && rest[1] == "assets":
		s.upload(w, r, repo, rest[0])
	case upload:
		ghError(w, http.StatusNotFound, "Not Found", docs)
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "tags":
		s.releaseByTag(w, r, repo, rest[1])
	case r.Method == http.MethodGet && len(rest) == 2 && rest[1] == "assets":
		s.listAssets(w, r, repo, rest[0])
	case len(rest) == 2 && rest[0] == "assets":
		id, _ := strconv.ParseInt(rest[1], 10, 64)
		switch r.Method {
		case http.MethodGet:
			s.getAsset(w, r, repo, id)
		case http.MethodDelete:
			s.deleteAsset(w, repo, id)
		default:
			ghError(w, http.StatusMethodNotAllowed, "Method Not Allowed", docs)
		}
	default:
		ghError(w, http.StatusNotFound, "Not Found", docs)
	}
}

func (s *Server) base(r *http.Request) string { return "http://" + r.Host }

func (s *Server) assetJSON(r *http.Request, repo string, a *Asset) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "label": "", "state": "uploaded", "content_type": a.ContentType, "size": len(a.Data),
		"download_count": 0, "created_at": a.Uploaded.UTC().Format(time.RFC3339), "updated_at": a.Uploaded.UTC().Format(time.RFC3339),
		"url":                  fmt.Sprintf("%s/api/v3/repos/%s/releases/assets/%d", s.base(r), repo, a.ID),
		"browser_download_url": fmt.Sprintf("%s/%s/releases/download/%s/%s", s.base(r), repo, url.PathEscape(s.tagOf(a.ID)), url.PathEscape(a.Name)),
	}
}

func (s *Server) findRelease(repo string, match func(*release) bool) *release {
	for _, rel := range s.releases {
		if rel.repo == repo && match(rel) {
			return rel
		}
	}
	return nil
}

func (s *Server) releaseByTag(w http.ResponseWriter, r *http.Request, repo, tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findRelease(repo, func(rel *release) bool { return rel.tag == tag })
	if rel == nil {
		ghError(w, http.StatusNotFound, "Not Found", docs+"/releases#get-a-release-by-tag-name")
		return
	}
	var assets []map[string]any
	for _, a := range rel.assets {
		assets = append(assets, s.assetJSON(r, repo, a))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": rel.id, "tag_name": rel.tag, "name": rel.tag, "draft": false, "prerelease": false,
		"url":        fmt.Sprintf("%s/api/v3/repos/%s/releases/%d", s.base(r), repo, rel.id),
		"assets_url": fmt.Sprintf("%s/api/v3/repos/%s/releases/%d/assets", s.base(r), repo, rel.id),
		"upload_url": fmt.Sprintf("%s/api/uploads/repos/%s/releases/%d/assets{?name,label}", s.base(r), repo, rel.id),
		"assets":     assets,
	})
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request, repo, idStr string) {
	id, _ := strconv.ParseInt(idStr, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findRelease(repo, func(rel *release) bool { return rel.id == id })
	if rel == nil {
		ghError(w, http.StatusNotFound, "Not Found", docs+"/assets#list-release-assets")
		return
	}
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, s.MaxPerPage, 100)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page <= 0 {
		page = 1
	}
	sorted := append([]*Asset(nil), rel.assets...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	last := max(1, (len(sorted)+per-1)/per)
	var out []map[string]any
	for i := (page - 1) * per; i < min(page*per, len(sorted)); i++ {
		out = append(out, s.assetJSON(r, repo, sorted[i]))
	}
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		q := u.Query()
		q.Set("per_page", strconv.Itoa(per))
		q.Set("page", strconv.Itoa(p))
		u.RawQuery = q.Encode()
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) findAsset(repo string, id int64) (*release, int) {
	for _, rel := range s.releases {
		if rel.repo != repo {
			continue
		}
		for i, a := range rel.assets {
			if a.ID == id {
				return rel, i
			}
		}
	}
	return nil, -1
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request, repo string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel, i := s.findAsset(repo, id)
	if rel == nil {
		ghError(w, http.StatusNotFound, "Not Found", docs+"/assets#get-a-release-asset")
		return
	}
	if r.Header.Get("Accept") != "application/octet-stream" {
		writeJSON(w, http.StatusOK, s.assetJSON(r, repo, rel.assets[i]))
		return
	}
	// Like GitHub: a redirect to a storage host with a short-lived signed URL.
	var k [16]byte
	rand.Read(k[:])
	key := hex.EncodeToString(k[:])
	s.storage[key] = id
	http.Redirect(w, r, s.base(r)+"/_storage/"+key, http.StatusFound)
}

func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request, key string) {
	if r.Header.Get("Authorization") != "" {
		// What S3 answers when the API token follows the redirect.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>")
		return
	}
	s.mu.Lock()
	id, ok := s.storage[key]
	delete(s.storage, key)
	var data []byte
	for _, rel := range s.releases {
		for _, a := range rel.assets {
			if a.ID == id {
				data = a.Data
			}
		}
	}
	s.mu.Unlock()
	if !ok || data == nil {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<Error><Code>AccessDenied</Code></Error>")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func (s *Server) deleteAsset(w http.ResponseWriter, repo string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel, i := s.findAsset(repo, id)
	if rel == nil {
		ghError(w, http.StatusNotFound, "Not Found", docs+"/assets#delete-a-release-asset")
		return
	}
	rel.assets = append(rel.assets[:i], rel.assets[i+1:]...)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, repo, idStr string) {
	id, _ := strconv.ParseInt(idStr, 10, 64)
	name := r.URL.Query().Get("name")
	if name == "" {
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed", docs+"/assets#upload-a-release-asset",
			map[string]string{"resource": "ReleaseAsset", "code": "missing_field", "field": "name"})
		return
	}
	if r.Header.Get("Content-Type") == "" || r.ContentLength < 0 {
		ghError(w, http.StatusBadRequest, "Content-Type and Content-Length are required", docs+"/assets#upload-a-release-asset")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<30))
	if err != nil || int64(len(data)) != r.ContentLength {
		ghError(w, http.StatusBadRequest, "Bad Content-Length", docs+"/assets#upload-a-release-asset")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findRelease(repo, func(rel *release) bool { return rel.id == id })
	if rel == nil {
		ghError(w, http.StatusNotFound, "Not Found", docs+"/assets#upload-a-release-asset")
		return
	}
	for _, a := range rel.assets {
		if a.Name == name {
			ghError(w, http.StatusUnprocessableEntity, "Validation Failed", docs+"/assets#upload-a-release-asset",
				map[string]string{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"})
			return
		}
	}
	s.nextID++
	a := &Asset{ID: s.nextID, Name: name, ContentType: r.Header.Get("Content-Type"), Data: data, Uploaded: time.Now()}
	rel.assets = append(rel.assets, a)
	writeJSON(w, http.StatusCreated, s.assetJSON(r, repo, a))
}
