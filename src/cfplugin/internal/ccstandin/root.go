package ccstandin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// APIVersion is the Cloud Controller v3 API version the stand-in reports.
const APIVersion = "3.190.0"

var tokenKey = []byte("ccstandin-token-key")

func (s *Server) routeRoot(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b := s.base(r)
		writeJSON(w, http.StatusOK, map[string]any{"links": map[string]any{
			"self":                link(b),
			"cloud_controller_v3": map[string]any{"href": b + "/v3", "meta": map[string]any{"version": APIVersion}},
			"login":               link(b),
			"uaa":                 link(b),
			"network_policy_v1":   link(b + "/networking/v1/external"),
			"log_cache":           link(b),
			"logging":             link("wss://" + r.Host),
			"app_ssh": map[string]any{"href": r.Host + ":2222",
				"meta": map[string]any{"host_key_fingerprint": "00:00", "oauth_client": "ssh-proxy"}},
		}})
	})
	mux.HandleFunc("GET /v3", func(w http.ResponseWriter, r *http.Request) {
		b := s.base(r) + "/v3"
		links := map[string]any{"self": link(b)}
		for _, k := range []string{"apps", "builds", "droplets", "organizations", "packages", "processes", "spaces", "stacks", "buildpacks"} {
			links[k] = link(b + "/" + k)
		}
		writeJSON(w, http.StatusOK, map[string]any{"links": links})
	})
	mux.HandleFunc("GET /v3/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"build": "", "cli_version": map[string]any{"minimum": "", "recommended": ""},
			"custom": map[string]any{}, "description": "Cloud Controller stand-in (UniK tests)",
			"name": "ccstandin", "version": 0, "osbapi_version": "2.15",
			"links": map[string]any{"self": link(s.base(r) + "/v3/info")},
		})
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"app":     map[string]any{"version": "78.0.0"},
			"links":   map[string]any{"uaa": s.base(r), "login": s.base(r)},
			"prompts": map[string]any{"username": []string{"text", "Email"}, "password": []string{"password", "Password"}},
		})
	})
	mux.HandleFunc("POST /oauth/token", s.token)
}

// token is UAA's token endpoint: password and refresh_token grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "password":
		if r.PostForm.Get("username") != s.User.Name || r.PostForm.Get("password") != s.User.Password {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "error_description": "Bad credentials"})
			return
		}
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != "standin-refresh-token" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Invalid refresh token"})
			return
		}
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  s.issueToken(time.Now().Add(12 * time.Hour)),
		"token_type":    "bearer",
		"refresh_token": "standin-refresh-token",
		"expires_in":    43199,
		"scope":         "cloud_controller.read cloud_controller.write openid",
		"jti":           "standin-jti",
	})
}

func (s *Server) issueToken(exp time.Time) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"user_name": s.User.Name, "user_id": s.User.GUID, "email": s.User.Name + "@example.com",
		"origin": "uaa", "client_id": "cf", "grant_type": "password",
		"scope": []string{"cloud_controller.read", "cloud_controller.write", "openid"},
		"iat":   time.Now().Unix(), "exp": exp.Unix(), "iss": "https://uaa.standin/oauth/token",
	})
	unsigned := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, tokenKey)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// validToken checks "bearer JWT" signed by this stand-in.
func (s *Server) validToken(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(auth, "Bearer ")
	}
	if !ok {
		return false
	}
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, tokenKey)
	mac.Write([]byte(tok[:i]))
	return hmac.Equal(sig, mac.Sum(nil))
}

// AccessToken is an Authorization header value the stand-in accepts, for
// tests that call it without going through `cf auth`.
func (s *Server) AccessToken() string {
	return "bearer " + s.issueToken(time.Now().Add(time.Hour))
}
