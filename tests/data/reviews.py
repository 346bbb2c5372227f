"""Hand-written movie reviews for tests (written for textzoo, not taken from IMDB).

Each entry: (upstream split, polarity, id, rating, text). The texts use <br /> line breaks and
punctuation the way IMDB reviews do, so standardisation is exercised.
"""

REVIEWS = [
    ("train", "pos", 0, 9, "A wonderful film. The acting is great and the story is moving.<br /><br />Loved it!"),
    ("train", "pos", 1, 8, "Great fun from start to end; the cast is wonderful and the music is great."),
    ("train", "pos", 2, 10, "Brilliant, moving and funny. A great film I will watch again."),
    ("train", "pos", 3, 7, "Good story, good acting. The ending is wonderful."),
    ("train", "pos", 4, 9, "I loved this movie! Great characters, great dialogue, a wonderful ending."),
    ("train", "pos", 5, 8, "Charming and warm. The lead is brilliant and the film is a joy."),
    ("train", "pos", 6, 10, "A masterpiece: beautiful images, a great score and a moving story."),
    ("train", "pos", 7, 7, "Funny, clever and great to look at. Recommended."),
    ("train", "pos", 8, 9, "The best film of the year. Wonderful acting and a great script."),
    ("train", "pos", 9, 8, "Moving and beautiful; I loved every minute of it.<br />Great work."),
    ("train", "neg", 0, 1, "A terrible film. The acting is awful and the story is boring.<br /><br />Avoid it!"),
    ("train", "neg", 1, 2, "Boring from start to end; the cast is bad and the music is awful."),
    ("train", "neg", 2, 3, "Dull, slow and silly. A bad film I will never watch again."),
    ("train", "neg", 3, 4, "Bad story, bad acting. The ending is terrible."),
    ("train", "neg", 4, 1, "I hated this movie! Awful characters, awful dialogue, a boring ending."),
    ("train", "neg", 5, 2, "Tedious and cold. The lead is wooden and the film is a chore."),
    ("train", "neg", 6, 1, "A mess: ugly images, a terrible score and a boring story."),
    ("train", "neg", 7, 3, "Unfunny, stupid and awful to look at. Not recommended."),
    ("train", "neg", 8, 2, "The worst film of the year. Terrible acting and a bad script."),
    ("train", "neg", 9, 4, "Boring and ugly; I hated every minute of it.<br />Awful work."),
    ("test", "pos", 0, 9, "Great film, wonderful cast, a moving story. Loved it."),
    ("test", "pos", 1, 8, "Brilliant and funny with a great ending."),
    ("test", "pos", 2, 10, "A wonderful, beautiful movie. Great acting!"),
    ("test", "pos", 3, 7, "Good fun and a great score; recommended."),
    ("test", "neg", 0, 1, "Awful film, terrible cast, a boring story. Hated it."),
    ("test", "neg", 1, 2, "Dull and silly with a terrible ending."),
    ("test", "neg", 2, 3, "A bad, ugly movie. Awful acting!"),
    ("test", "neg", 3, 4, "Boring and a terrible script; not recommended."),
]


def member_name(split, polarity, number, rating):
  return f"aclImdb/{split}/{polarity}/{number}_{rating}.txt"
