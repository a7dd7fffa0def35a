"""Comments the simulated customers write, by what happened to them and in their language, so
`nps demo` has themes to find: late parcels, returns and sizing, support, quality, price."""

from __future__ import annotations

COMMENT_BANK: dict[str, dict[str, tuple[str, ...]]] = {
    "late": {
        "en": ("The parcel arrived late.", "Delivery took far too long.",
               "My order came a week after the promised date.", "Shipping was really slow."),
        "fr": ("Colis arrivé en retard.", "La livraison a pris beaucoup trop de temps.",
               "Ma commande est arrivée une semaine après la date prévue.",
               "Expédition très lente."),
        "de": ("Die Lieferung kam zu spät.", "Der Versand hat ewig gedauert."),
        "es": ("El pedido llegó tarde.", "El envío tardó demasiado."),
    },
    "returned": {
        "en": ("The size was too small, I had to send it back.",
               "Refund took weeks after my return.", "Returning it was a hassle."),
        "fr": ("La taille était trop petite, j'ai dû la renvoyer.",
               "Le remboursement a pris des semaines après mon retour.",
               "Le retour a été compliqué."),
        "de": ("Die Größe passte nicht, ich musste es zurückschicken.",),
        "es": ("La talla era pequeña, tuve que devolverlo.",),
    },
    "support": {
        "en": ("Customer service took days to answer.", "Nobody answered my emails.",
               "Support was slow to reply."),
        "fr": ("Le service client a mis des jours à répondre.", "Personne n'a répondu à mes mails.",
               "Le support a été lent à répondre."),
        "de": ("Der Kundenservice hat tagelang nicht geantwortet.",),
        "es": ("Atención al cliente tardó días en responder.",),
    },
    "quality": {
        "en": ("Great quality, will order again!", "Lovely fabric and well made.",
               "Beautiful quality, exactly as pictured."),
        "fr": ("Très bonne qualité, je recommande !", "Tissu magnifique et bien fini.",
               "Belle qualité, conforme aux photos."),
        "de": ("Super Qualität, gerne wieder!",),
        "es": ("¡Excelente calidad, volveré a comprar!",),
    },
    "price": {
        "en": ("Good, but a bit expensive.", "Fine overall, prices could be lower."),
        "fr": ("Bien, mais un peu cher.", "Correct, les prix pourraient être plus bas."),
        "de": ("Gut, aber etwas teuer.",),
        "es": ("Bien, pero un poco caro.",),
    },
}  # fmt: skip


def comment_theme(late: bool, returned: bool, contacted: bool, score: int) -> str:
    """What this customer writes about: what went wrong, else why they are (not) delighted."""
    if score <= 8 and (late or returned or contacted):
        return "late" if late else "returned" if returned else "support"
    return "quality" if score >= 9 else "price"
