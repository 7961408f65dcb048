// Package filewatch keeps a parsed copy of a configuration file current by
// polling its content. The issuer's client and user files use it.
//
// Polling the content, rather than watching inotify events, also detects the
// symlink swap that Kubernetes performs when it updates a mounted Secret or
// ConfigMap. This package must not import the issuer or any Kubernetes
// package.
package filewatch
