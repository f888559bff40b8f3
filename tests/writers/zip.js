#!/usr/bin/env node
// Zips a directory with one of the npm zip libraries, used the way projects use them, for
// tests/it/writers.rs. NODE_PATH must name the node_modules that scripts/test.sh installs
// (target/npm-writers/node_modules).
//
//   node zip.js yazl|yazl-zip64|archiver|jszip|adm-zip SRC_DIR OUT.zip [ZIP64_ENTRY]
//
// Entries are relative to SRC_DIR, with `/` separators, in sorted order.
"use strict";

const fs = require("fs");
const path = require("path");

const [writer, src, out, zip64Entry] = process.argv.slice(2);
if (!writer || !src || !out) {
  console.error("usage: node zip.js WRITER SRC_DIR OUT.zip [ZIP64_ENTRY]");
  process.exit(2);
}

// Every path under `src`, parents before children: [{ rel, abs, lstat }].
function walk(dir, prefix, acc) {
  for (const name of fs.readdirSync(dir).sort()) {
    const abs = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    const lstat = fs.lstatSync(abs);
    acc.push({ rel, abs, lstat });
    if (lstat.isDirectory()) walk(abs, rel, acc);
  }
  return acc;
}

function isEmptyDir(e) {
  return e.lstat.isDirectory() && fs.readdirSync(e.abs).length === 0;
}

function done(err) {
  if (err) {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
  }
}

const entries = walk(src, "", []);

// yazl: files (read from disk), symlinks as links, and the empty directories; with
// `yazl-zip64`, forceZip64Format for ZIP64_ENTRY.
function yazl(forceZip64) {
  const yazlLib = require("yazl");
  const zip = new yazlLib.ZipFile();
  for (const e of entries) {
    const opts = { mtime: e.lstat.mtime, mode: e.lstat.mode };
    if (e.lstat.isSymbolicLink()) {
      zip.addBuffer(Buffer.from(fs.readlinkSync(e.abs)), e.rel, opts);
    } else if (e.lstat.isDirectory()) {
      if (isEmptyDir(e)) zip.addEmptyDirectory(e.rel, opts);
    } else {
      if (forceZip64 && e.rel === zip64Entry) opts.forceZip64Format = true;
      zip.addFile(e.abs, e.rel, opts);
    }
  }
  zip.outputStream.pipe(fs.createWriteStream(out)).on("close", () => done()).on("error", done);
  zip.end();
}

// archiver, as the Serverless Framework packages a service: only files (symlinks
// followed: it reads every file's bytes), mode 0755 or 0644, date 1970 (for stable hashes).
function archiver() {
  const archiverLib = require("archiver");
  const zip = archiverLib.create("zip");
  const output = fs.createWriteStream(out);
  output.on("close", () => done());
  zip.on("error", done);
  zip.on("warning", done);
  zip.pipe(output);
  for (const e of entries) {
    if (e.lstat.isDirectory()) continue;
    const stat = fs.statSync(e.abs);
    const mode = stat.mode & 0o100 ? 0o755 : 0o644;
    zip.append(fs.readFileSync(e.abs), { name: e.rel, mode, date: new Date(0) });
  }
  zip.finalize();
}

// jszip: every path (folders are created for nested files anyway), Unix permissions,
// symlinks as links, deflate.
function jszip() {
  const JSZip = require("jszip");
  const zip = new JSZip();
  for (const e of entries) {
    const opts = { date: e.lstat.mtime, unixPermissions: e.lstat.mode };
    if (e.lstat.isSymbolicLink()) {
      zip.file(e.rel, fs.readlinkSync(e.abs), opts);
    } else if (e.lstat.isDirectory()) {
      zip.file(e.rel, null, { ...opts, dir: true });
    } else {
      zip.file(e.rel, fs.readFileSync(e.abs), opts);
    }
  }
  zip
    .generateAsync({ type: "nodebuffer", compression: "DEFLATE", platform: "UNIX" })
    .then((buf) => fs.writeFileSync(out, buf))
    .then(() => done(), done);
}

// adm-zip: the whole folder with addLocalFolder, as its README shows.
function admZip() {
  const AdmZip = require("adm-zip");
  const zip = new AdmZip();
  zip.addLocalFolder(src);
  zip.writeZip(out, done);
}

switch (writer) {
  case "yazl":
    yazl(false);
    break;
  case "yazl-zip64":
    yazl(true);
    break;
  case "archiver":
    archiver();
    break;
  case "jszip":
    jszip();
    break;
  case "adm-zip":
    admZip();
    break;
  default:
    console.error(`unknown writer ${writer}`);
    process.exit(2);
}
