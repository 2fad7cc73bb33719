// The feed preview: a masonry waterfall of posters from the same REST API the app uses.
// Hover (or focus) plays a card's preview; a click opens a vertical full-screen player that
// swipes from post to post and loads more as it goes. No build step: a plain ES module.

const API = "/api/v1/feeds/for-you/";
const grid = document.getElementById("grid");
const statusLine = document.getElementById("status");
const player = document.getElementById("player");
const slides = document.getElementById("slides");
const cardTemplate = document.getElementById("card-template");
const slideTemplate = document.getElementById("slide-template");

const feed = { posts: [], next: null, started: false, loading: false, done: false };
window.doubletakeFeed = feed; // for people poking at the page (and for its browser tests)

async function loadMore() {
  if (feed.loading || feed.done) return;
  feed.loading = true;
  statusLine.textContent = "Loading…";
  try {
    const url = feed.next ? `${API}?cursor=${encodeURIComponent(feed.next)}` : API;
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    const page = await response.json();
    const first = feed.posts.length;
    feed.posts.push(...page.results);
    page.results.forEach((post, i) => grid.append(card(post, first + i)));
    if (!player.hidden) page.results.forEach((post, i) => slides.append(slide(post, first + i)));
    feed.next = page.next;
    feed.done = !page.next;
    statusLine.textContent = feed.done ? (feed.posts.length ? "You're all caught up." : "No posts yet.") : "";
  } catch (error) {
    statusLine.textContent = `Could not load the feed: ${error.message}`;
  } finally {
    feed.loading = false;
    grid.setAttribute("aria-busy", "false");
  }
}

function card(post, index) {
  const node = cardTemplate.content.firstElementChild.cloneNode(true);
  const frame = node.querySelector(".frame");
  // Reserve the post's shape before its poster arrives, so the columns never jump.
  frame.style.paddingTop = `${(100 * (post.video.height || 16)) / (post.video.width || 9)}%`;
  const poster = node.querySelector(".poster");
  poster.src = post.video.poster_url;
  poster.alt = post.caption || `A video by @${post.author.username}`;
  node.querySelector(".author").textContent = `@${post.author.username}`;
  node.querySelector(".caption").textContent = post.caption;
  node.querySelector(".badge").hidden = !post.provenance.generated;
  node.dataset.postId = post.id;
  const play = () => {
    if (frame.querySelector("video")) return;
    const video = Object.assign(document.createElement("video"), {
      src: post.video.preview_url || post.video.url, muted: true, loop: true, playsInline: true, autoplay: true,
    });
    frame.append(video);
    video.play().catch(() => {});
  };
  const stop = () => frame.querySelector("video")?.remove();
  node.addEventListener("mouseenter", play);
  node.addEventListener("mouseleave", stop);
  node.addEventListener("focus", play);
  node.addEventListener("blur", stop);
  node.addEventListener("click", () => openPlayer(index));
  node.addEventListener("keydown", (event) => { if (event.key === "Enter") openPlayer(index); });
  return node;
}

function slide(post, index) {
  const node = slideTemplate.content.firstElementChild.cloneNode(true);
  node.dataset.index = index;
  node.dataset.postId = post.id;
  const video = node.querySelector("video");
  video.poster = post.video.poster_url;
  video.dataset.src = post.video.url;
  if (post.video.subtitles_url) {
    const track = Object.assign(document.createElement("track"), {
      kind: "subtitles", src: post.video.subtitles_url, srclang: "en", label: "English", default: true,
    });
    video.append(track);
  }
  node.querySelector(".who").textContent = `@${post.author.username}`;
  const tags = post.hashtags.map((tag) => `#${tag}`).join(" ");
  node.querySelector(".caption").textContent = [post.caption, tags].filter(Boolean).join(" ");
  node.querySelector(".credits").textContent = post.credits.length
    ? `Starring ${post.credits.map((c) => `@${c.owner}`).join(", ")}` : "";
  node.querySelector(".lineage").textContent = post.remix_of
    ? `Remix of @${post.remix_of.author}'s video` : post.remix_count ? `${post.remix_count} remixes` : "";
  node.querySelector(".provenance").textContent = post.provenance.generated
    ? `AI-generated · signed (${post.provenance.backend || "manifest"})` : "";
  return node;
}

// --- The player ------------------------------------------------------------------------------
let watching = null; // { id, since } of the slide on screen, for view events

function reportView() {
  if (!watching) return;
  const watchMs = Math.round(performance.now() - watching.since);
  fetch(`/api/v1/posts/${watching.id}/views/`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ watch_ms: watchMs }),
    keepalive: true,
  }).catch(() => {});
  watching = null;
}

const onScreen = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const video = entry.target.querySelector("video");
    if (entry.isIntersecting) {
      if (!video.src) video.src = video.dataset.src;
      video.play().catch(() => { video.muted = true; video.play().catch(() => {}); });
      reportView();
      watching = { id: entry.target.dataset.postId, since: performance.now() };
      if (Number(entry.target.dataset.index) >= feed.posts.length - 2) loadMore();
    } else {
      video.pause();
    }
  }
}, { root: slides, threshold: 0.6 });

function openPlayer(index) {
  slides.replaceChildren(...feed.posts.map((post, i) => slide(post, i)));
  slides.querySelectorAll(".slide").forEach((node) => onScreen.observe(node));
  player.hidden = false;
  document.body.style.overflow = "hidden";
  slides.children[index].scrollIntoView({ block: "start" });
}

function closePlayer() {
  reportView();
  slides.querySelectorAll("video").forEach((video) => video.pause());
  onScreen.disconnect();
  player.hidden = true;
  document.body.style.overflow = "";
}

document.getElementById("close").addEventListener("click", closePlayer);
document.addEventListener("keydown", (event) => {
  if (player.hidden) return;
  if (event.key === "Escape") closePlayer();
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    slides.scrollBy({ top: (event.key === "ArrowDown" ? 1 : -1) * slides.clientHeight, behavior: "smooth" });
  }
});

// Load the next page when the bottom of the grid comes into view.
new IntersectionObserver((entries) => {
  if (entries.some((entry) => entry.isIntersecting)) loadMore();
}, { rootMargin: "600px" }).observe(document.getElementById("sentinel"));

loadMore();
