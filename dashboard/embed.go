package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

// dist holds placeholder.html (committed) and, once `make dashboard` ran,
// the built app in dist/app (git-ignored), so that a clone without npm
// still builds chatlab.
//
//go:embed all:dist
var dist embed.FS

// builtApp is the built app, or nil when the binary was built without it.
func builtApp() fs.FS {
	app, err := fs.Sub(dist, "dist/app")
	if err != nil {
		panic("dashboard: dist/app is not a valid path: " + err.Error())
	}
	if _, err := fs.Stat(app, "index.html"); err != nil {
		return nil
	}
	return app
}

// serveApp serves the built app or, without one, a page that says how to
// build it.
func serveApp() http.Handler {
	if app := builtApp(); app != nil {
		return http.FileServerFS(app)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/index.html" {
			http.NotFound(w, r)
			return
		}
		http.ServeFileFS(w, r, dist, "dist/placeholder.html")
	})
}
