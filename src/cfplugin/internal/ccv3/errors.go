package ccv3

import (
	"encoding/json"
	"fmt"
	"strings"
)

// APIError is one entry of a Cloud Controller v3 error response.
type APIError struct {
	Code   int    `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// Error is a non-2xx answer of the Cloud Controller, with its own error
// objects passed through unchanged.
type Error struct {
	Method string
	Path   string
	Status int
	Errors []APIError
	Body   string // raw body when it held no v3 error objects
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Cloud Controller %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if len(e.Errors) == 0 {
		if e.Body != "" {
			fmt.Fprintf(&b, ": %s", e.Body)
		}
		return b.String()
	}
	for i, ae := range e.Errors {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s (code %d): %s", sep, ae.Title, ae.Code, ae.Detail)
	}
	return b.String()
}

// NotFound reports whether the Cloud Controller answered 404.
func (e *Error) NotFound() bool { return e.Status == 404 }

// parseError turns an error response into *Error.
func parseError(method, path string, status int, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status}
	var resp struct {
		Errors []APIError `json:"errors"`
	}
	if json.Unmarshal(body, &resp) == nil && len(resp.Errors) > 0 {
		e.Errors = resp.Errors
		return e
	}
	const max = 512
	s := strings.TrimSpace(string(body))
	if len(s) > max {
		s = s[:max] + "..."
	}
	e.Body = s
	return e
}
