//! The embedded faces: the families the reference embeds, from the
//! @fontsource packages pinned in `producer/fonts/packages.lock`, one latin
//! woff2 per weight, compiled into the binary (`include_bytes!`) so the
//! `hyperframes` program and the Lambda `bootstrap` carry the same bytes.
//! `producer/fonts/faces.sha256` pins each file; a test checks the embedded
//! bytes against it and this table against the lock.

/// One embedded face (all are `font-style: normal`, latin subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Face {
    pub weight: u16,
    /// The file under `producer/fonts/` the bytes come from.
    pub file: &'static str,
    pub bytes: &'static [u8],
}

/// One family: its display name, its package and its faces, by weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub slug: &'static str,
    pub name: &'static str,
    /// `@fontsource/<slug>@<version>`.
    pub package: &'static str,
    pub faces: &'static [Face],
}

macro_rules! face {
    ($w:literal, $file:literal) => {
        Face {
            weight: $w,
            file: $file,
            bytes: include_bytes!(concat!("../../../fonts/", $file)),
        }
    };
}

/// Every embedded family, in the reference's order.
pub const FAMILIES: &[Family] = &[
    Family {
        slug: "inter",
        name: "Inter",
        package: "@fontsource/inter@5.3.0",
        faces: &[
            face!(400, "inter-latin-400-normal.woff2"),
            face!(700, "inter-latin-700-normal.woff2"),
            face!(900, "inter-latin-900-normal.woff2"),
        ],
    },
    Family {
        slug: "montserrat",
        name: "Montserrat",
        package: "@fontsource/montserrat@5.3.0",
        faces: &[
            face!(400, "montserrat-latin-400-normal.woff2"),
            face!(700, "montserrat-latin-700-normal.woff2"),
            face!(900, "montserrat-latin-900-normal.woff2"),
        ],
    },
    Family {
        slug: "outfit",
        name: "Outfit",
        package: "@fontsource/outfit@5.3.0",
        faces: &[
            face!(400, "outfit-latin-400-normal.woff2"),
            face!(700, "outfit-latin-700-normal.woff2"),
            face!(900, "outfit-latin-900-normal.woff2"),
        ],
    },
    Family {
        slug: "nunito",
        name: "Nunito",
        package: "@fontsource/nunito@5.3.0",
        faces: &[
            face!(400, "nunito-latin-400-normal.woff2"),
            face!(700, "nunito-latin-700-normal.woff2"),
            face!(900, "nunito-latin-900-normal.woff2"),
        ],
    },
    Family {
        slug: "oswald",
        name: "Oswald",
        package: "@fontsource/oswald@5.3.0",
        faces: &[
            face!(400, "oswald-latin-400-normal.woff2"),
            face!(700, "oswald-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "league-gothic",
        name: "League Gothic",
        package: "@fontsource/league-gothic@5.3.0",
        faces: &[face!(400, "league-gothic-latin-400-normal.woff2")],
    },
    Family {
        slug: "archivo-black",
        name: "Archivo Black",
        package: "@fontsource/archivo-black@5.3.0",
        faces: &[face!(400, "archivo-black-latin-400-normal.woff2")],
    },
    Family {
        slug: "space-mono",
        name: "Space Mono",
        package: "@fontsource/space-mono@5.3.0",
        faces: &[
            face!(400, "space-mono-latin-400-normal.woff2"),
            face!(700, "space-mono-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "ibm-plex-mono",
        name: "IBM Plex Mono",
        package: "@fontsource/ibm-plex-mono@5.3.0",
        faces: &[
            face!(400, "ibm-plex-mono-latin-400-normal.woff2"),
            face!(700, "ibm-plex-mono-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "jetbrains-mono",
        name: "JetBrains Mono",
        package: "@fontsource/jetbrains-mono@5.3.0",
        faces: &[
            face!(400, "jetbrains-mono-latin-400-normal.woff2"),
            face!(700, "jetbrains-mono-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "eb-garamond",
        name: "EB Garamond",
        package: "@fontsource/eb-garamond@5.2.7",
        faces: &[
            face!(400, "eb-garamond-latin-400-normal.woff2"),
            face!(700, "eb-garamond-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "playfair-display",
        name: "Playfair Display",
        package: "@fontsource/playfair-display@5.3.0",
        faces: &[
            face!(400, "playfair-display-latin-400-normal.woff2"),
            face!(700, "playfair-display-latin-700-normal.woff2"),
            face!(900, "playfair-display-latin-900-normal.woff2"),
        ],
    },
    Family {
        slug: "source-code-pro",
        name: "Source Code Pro",
        package: "@fontsource/source-code-pro@5.3.1",
        faces: &[
            face!(400, "source-code-pro-latin-400-normal.woff2"),
            face!(700, "source-code-pro-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "noto-sans-jp",
        name: "Noto Sans JP",
        package: "@fontsource/noto-sans-jp@5.3.0",
        faces: &[
            face!(400, "noto-sans-jp-latin-400-normal.woff2"),
            face!(700, "noto-sans-jp-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "roboto",
        name: "Roboto",
        package: "@fontsource/roboto@5.3.0",
        faces: &[
            face!(400, "roboto-latin-400-normal.woff2"),
            face!(700, "roboto-latin-700-normal.woff2"),
            face!(900, "roboto-latin-900-normal.woff2"),
        ],
    },
    Family {
        slug: "open-sans",
        name: "Open Sans",
        package: "@fontsource/open-sans@5.3.0",
        faces: &[
            face!(400, "open-sans-latin-400-normal.woff2"),
            face!(700, "open-sans-latin-700-normal.woff2"),
        ],
    },
    Family {
        slug: "lato",
        name: "Lato",
        package: "@fontsource/lato@5.3.0",
        faces: &[
            face!(400, "lato-latin-400-normal.woff2"),
            face!(700, "lato-latin-700-normal.woff2"),
            face!(900, "lato-latin-900-normal.woff2"),
        ],
    },
    Family {
        slug: "poppins",
        name: "Poppins",
        package: "@fontsource/poppins@5.3.0",
        faces: &[
            face!(400, "poppins-latin-400-normal.woff2"),
            face!(700, "poppins-latin-700-normal.woff2"),
            face!(900, "poppins-latin-900-normal.woff2"),
        ],
    },
];
