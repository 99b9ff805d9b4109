import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./i18n";
// First, so that every component's stylesheet comes after the shared rules.
import "./global.css";
import { App } from "./App";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
