// Zips a directory with Go's archive/zip, for tests/it/writers.rs, the way Go tools
// (Terraform's archive provider, for one) write function packages.
//
//	go run gozip.go SRC_DIR OUT.zip
//
// Every directory gets its entry, files are deflated through CreateHeader (so with data
// descriptors), and symlinks are stored as links.
package main

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		os.Stderr.WriteString("usage: go run gozip.go SRC_DIR OUT.zip\n")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}

func run(src, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := zip.NewWriter(f)
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == src {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		switch {
		case info.IsDir():
			h.Name += "/"
		default:
			h.Method = zip.Deflate
		}
		e, err := w.CreateHeader(h)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			_, err = io.WriteString(e, target)
			return err
		case info.Mode().IsRegular():
			r, err := os.Open(path)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(e, r)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Close()
}
